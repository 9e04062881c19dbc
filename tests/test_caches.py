"""Issue 29: no run deletes outside its folder, no cache is trusted unchecked.

Each test builds its own caches in temporary folders (`StudyConfig(cache_dir=...)`, `OSTEO_NB_CACHE`), never the project's `.cache`."""
import json, shutil, time
from unittest import mock

import keras
import numpy as np
import pandas as pd
import pytest

from osteo_nb.config import StudyConfig
from osteo_nb.data import make_split
from osteo_nb.dataset import load_images, select
from osteo_nb.masking import feature_dataset, feature_names, load_feature_arrays
from osteo_nb.models import fit, model_path, predict_outputs, split_arrays, train_or_load
from osteo_nb.provenance import sha256_file
from osteo_nb.synthetic import synthetic_dataset, synthetic_knee
from osteo_nb.weights import BackboneSpec, STAND_INS, _cache_stem, _PREPROCESSING, _ROLES, keras_weights, mobilenet_v2, resolve_backbones
from osteo_nb.xai import Explanation, _cache_file, compiled_predictor, explain, lime_input, model_digest, superpixels


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    "A tiny synthetic split: (config without a cache folder, records, class root); three images per class and split at most."
    tmp = tmp_path_factory.mktemp("caches")
    cfg = StudyConfig(out_dir=str(tmp / "out"), seed=0, epochs=1, batch_size=4, limit_per_class=3, learning_rate=0.01,
                      geometric_duplicates=False)  # the registration stages take minutes, and nothing here needs them
    df = make_split(synthetic_dataset(tmp / "d", n_per_class=12, n_copies=0), cfg, progress=False)
    return cfg, df, df.attrs["root"]


@pytest.fixture(scope="module")
def mobilenet():
    return resolve_backbones("offline")["mobilenet"]


def _tiny(seed=0):
    "A small CNN classifier with the study's input and output shapes."
    keras.utils.set_random_seed(seed)
    inp = keras.Input((224, 224, 3))
    x = keras.layers.Conv2D(4, 5, strides=4, activation="relu")(keras.layers.Rescaling(1 / 255)(inp))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))


# 1. a shared cache can make a run delete files outside its folder

def test_backup_link_is_never_followed(small, mobilenet, tmp_path, capsys):
    cfg, df, root = small
    cfg = cfg.replace(cache_dir=str(tmp_path / "cache"))
    arrays = split_arrays(df, root, cfg)
    path = model_path("original", mobilenet, arrays, cfg)
    other = tmp_path / "someone_else"; (other / "sub").mkdir(parents=True)
    (other / "keep.txt").write_text("mine"); (other / "sub/data.txt").write_text("mine too")
    path.with_suffix(".backup").symlink_to(other, target_is_directory=True)
    t = train_or_load("original", mobilenet, arrays, cfg, progress=False)
    assert sorted(p.relative_to(other).as_posix() for p in other.rglob("*")) == ["keep.txt", "sub", "sub/data.txt"]
    assert (other / "keep.txt").read_text() == "mine"
    assert not path.with_suffix(".backup").is_symlink() and t.path.exists()
    assert "symbolic link" in capsys.readouterr().out


# 2. feature-dataset PNG names collide

def test_feature_names_are_unique_and_stable(tmp_path):
    rows = pd.DataFrame({"path": ["Normal/x.jpg", "Normal/sub/x.jpg", "Normal/x.JPG", "Normal/x.png"], "label": ["normal"] * 4})
    names = feature_names(rows)
    assert len({n.lower() for n in names}) == 4, names  # unique, even on a case-insensitive file system
    assert [feature_names(rows.iloc[[i]])[0] for i in range(4)] == names  # a path's name does not depend on the other rows
    cfg = StudyConfig(out_dir=str(tmp_path))
    x = np.stack([synthetic_knee(s) for s in range(4)])
    seg = np.repeat(np.arange(4), 56)[None].repeat(224, 0)
    exps = [Explanation(1, np.array([0.2, 0.8]), seg, np.array([1.0, 0.5, -1, 0.2]) * (i + 1), 0.0, 0.5, 0.5) for i in range(4)]
    table = feature_dataset({"test": (rows, x)}, {"test": {"m": exps}}, cfg)
    back = load_feature_arrays(table, "m", {"test": (rows, x)}, cfg)  # raised "file differs (sha256)" when two rows shared a file
    assert [int((b > 0).sum()) for b in back["test"][1]] == [int((xi * (seg != 2) > 0).sum()) for xi in x]


# 3. caches are trusted without checks

def test_damaged_image_cache_is_decoded_again(small, tmp_path, capsys):
    cfg, df, root = small
    cfg = cfg.replace(cache_dir=str(tmp_path))
    rows = select(df, "train", cfg)
    x = load_images(rows, root, cfg)
    (f,) = (tmp_path / "images").glob("*.npy")
    f.write_bytes(f.read_bytes()[:1000])  # truncated: "Failed to read all data for array" on every rerun
    capsys.readouterr()
    np.testing.assert_array_equal(load_images(rows, root, cfg), x)
    assert str(f) in capsys.readouterr().out
    np.save(f, x[::-1])  # readable, but other pixels (another selection's entry, say)
    np.testing.assert_array_equal(load_images(rows, root, cfg), x)
    assert str(f) in capsys.readouterr().out


def _strip_record(f):
    "Rewrite an explanation entry as older code wrote it: without `made_from`."
    with np.load(f) as z: d = {k: z[k] for k in z.files if k != "made_from"}
    with open(f, "wb") as fh: np.savez_compressed(fh, **d)


def test_explanation_entries_are_checked(tmp_path, capsys):
    cfg = StudyConfig(cache_dir=str(tmp_path), lime_samples=40, predict_batch=20, lime_engine="tensorflow")
    imgs, m = np.stack([synthetic_knee(s) for s in range(2)]), _tiny()
    ex = explain(imgs, {"a": m}, cfg, progress=False)["a"]
    f0, f1 = (_cache_file(cfg, model_digest(m), x, "predicted") for x in imgs)
    same = lambda e, g: np.array_equal(e.segments, g.segments) and np.array_equal(e.weights, g.weights) and np.array_equal(e.probs, g.probs)
    capsys.readouterr()
    for strip in (False, True):  # an entry that records what it was made from, and an older one that does not
        shutil.copyfile(f1, f0)  # image 0's entry replaced by image 1's
        if strip: _strip_record(f0)
        again = explain(imgs, {"a": m}, cfg, progress=False)["a"]
        assert same(again[0], ex[0]) and same(again[1], ex[1])
        assert str(f0) in capsys.readouterr().out
    _strip_record(f0); t = f0.stat().st_mtime_ns  # an older entry of the right image is checked (its superpixels) and used
    assert same(explain(imgs, {"a": m}, cfg, progress=False)["a"][0], ex[0]) and f0.stat().st_mtime_ns == t
    assert Explanation.load(f1).made_from["image"] and Explanation.load(f0).made_from is None


def test_planted_weights_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OSTEO_NB_CACHE", str(tmp_path))
    good = keras_weights("mobilenet_v2")
    m = mobilenet_v2(); k = m.get_layer("stem_conv").kernel; k.assign(np.zeros(k.shape, "float32"))  # one tensor zeroed
    tmp = tmp_path / "x.weights.h5"; m.save_weights(tmp)
    planted = good.with_name(f"{_cache_stem('mobilenet_v2')}-{sha256_file(tmp)}.weights.h5")  # named by its own sha256
    tmp.rename(planted); good.unlink()
    with pytest.raises(ValueError) as e: mobilenet_v2()
    msg = str(e.value)
    assert str(planted) in msg and STAND_INS["mobilenet_v2"].tensors_sha256 in msg, msg
    from osteo_nb.weights import tensors_sha256
    assert tensors_sha256(m) in msg


def test_model_entry_made_for_other_inputs_is_retrained(small, mobilenet, tmp_path, capsys):
    cfg, df, root = small
    cfg = cfg.replace(cache_dir=str(tmp_path))
    a = train_or_load("original", mobilenet, split_arrays(df, root, cfg), cfg, progress=False)
    cfg_b = cfg.replace(learning_rate=0.02)
    arrays_b = split_arrays(df, root, cfg_b)
    pb = model_path("original", mobilenet, arrays_b, cfg_b)
    for strip in (False, True):  # with the training key recorded, and an older entry without it
        shutil.copyfile(a.path, pb)
        meta = json.loads(a.path.with_suffix(".json").read_text())
        if strip: meta.pop("training_key", None)
        pb.with_suffix(".json").write_text(json.dumps(meta))
        capsys.readouterr()
        b = train_or_load("original", mobilenet, arrays_b, cfg_b, progress=False)
        assert b.meta["config"]["learning_rate"] == 0.02 and str(pb) in capsys.readouterr().out
        assert train_or_load("original", mobilenet, arrays_b, cfg_b, progress=False).meta["train_seconds"] == b.meta["train_seconds"]


# 4. after a resume, train_seconds counted only the resumed part

class _Slow(keras.callbacks.Callback):
    "Sleep `s` seconds at the end of 1-based epoch 1; raise KeyboardInterrupt after the first batch of epoch `kill`."
    def __init__(self, s, kill): super().__init__(); self.s, self.kill = s, kill
    def on_epoch_begin(self, epoch, logs=None): self.epoch = epoch + 1
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0: time.sleep(self.s)
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill: raise KeyboardInterrupt


def test_train_seconds_count_the_epochs_before_a_resume(small, mobilenet, tmp_path):
    cfg, df, root = small
    cfg = cfg.replace(cache_dir=str(tmp_path), epochs=2)
    arrays = split_arrays(df, root, cfg)
    path = model_path("original", mobilenet, arrays, cfg)
    with pytest.raises(KeyboardInterrupt):
        fit(mobilenet, arrays, cfg, path.with_suffix(".backup"), progress=False, callbacks=[_Slow(6, kill=2)])
    t0 = time.time(); t = train_or_load("original", mobilenet, arrays, cfg, progress=False); resumed = time.time() - t0
    assert t.meta["train_seconds"] >= resumed + 3, (t.meta["train_seconds"], resumed)  # the 6 s slept in epoch 1 count


# 5. the paper's own backbones

def test_paper_weights_offline_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fail = Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -2] Name or service not known")
    with mock.patch("keras.utils.get_file", side_effect=fail), pytest.raises(Exception) as e:
        resolve_backbones("paper")
    msg = str(e.value)
    assert "could not be downloaded" in msg and str(tmp_path / "models") in msg and "\n" not in msg, msg
    for f in ("efficientnetb0_notop.h5", "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5"): assert f in msg, msg


def _stem_input(model):
    "What the model's first convolution sees: its input after the model's own preprocessing."
    conv = next(l for l in model.layers if isinstance(l, keras.layers.Conv2D))
    return keras.Model(model.input, conv.input)


@pytest.mark.parametrize("arch", ["EfficientNetB0", "MobileNetV3Large"])
def test_paper_architectures_run_end_to_end(small, tmp_path, arch):
    "The paper's Keras backbones, randomly initialised (no network here): classifier, one epoch, both LIME engines, explain."
    cfg, df, root = small
    cfg = cfg.replace(cache_dir=str(tmp_path), lime_samples=20, predict_batch=10)
    spec = BackboneSpec(_ROLES[arch], arch, "random initialisation", "", _PREPROCESSING[arch], False)
    arrays = split_arrays(df, root, cfg)
    model, hist = fit(spec, arrays, cfg, progress=False, weights=None)
    assert len(hist) == 1 and model.name == f"{spec.role}_{arch}"
    # the model's own preprocessing, applied once: raw 0..255 in, Keras' scaling at the first convolution. EfficientNetB0's is x/255,
    # then a Normalization layer whose ImageNet mean and variance come with the ImageNet weights (mean 0, variance 1 without them);
    # MobileNetV3's is x/127.5 - 1
    kinds = [type(l).__name__ for l in model.layers if isinstance(l, (keras.layers.Rescaling, keras.layers.Normalization))]
    assert kinds == (["Rescaling", "Normalization"] if arch == "EfficientNetB0" else ["Rescaling"]), kinds
    x = np.stack([np.zeros((224, 224, 3), np.float32), np.full((224, 224, 3), 255, np.float32)])
    seen = _stem_input(model).predict(x, verbose=0)[:, 112, 112]
    np.testing.assert_allclose(seen, [[0.0] * 3, [1.0] * 3] if arch == "EfficientNetB0" else [[-1.0] * 3, [1.0] * 3], atol=1e-6)
    imgs = arrays["test"][1][:2]
    p = predict_outputs(model, imgs, cfg)
    for engine in ("tensorflow", "openvino"):
        np.testing.assert_allclose(compiled_predictor((model,), cfg.lime.predict_batch, cfg.data.image_size, engine)(lime_input(imgs)), p, atol=1e-4)
    ex = explain(imgs, {"m": model}, cfg.replace(lime_engine="openvino"), progress=False)["m"]
    assert [e.label for e in ex] == list(np.argmax(p, 1)) and all(np.array_equal(e.segments, superpixels(x, cfg)) for e, x in zip(ex, imgs))
