import numpy as np
import pytest
from conftest import real_data_dir, synthetic_images, write_bin_layout, write_py_layout

from trainables import DataError, load_cifar


def assert_same(a, b):
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_binary_layout_round_trips(tmp_path):
    images = synthetic_images(200, 50)
    write_bin_layout(tmp_path, images)
    # either the parent folder or the layout folder itself may be given
    assert_same(load_cifar(tmp_path, verify=False), images)
    assert_same(load_cifar(tmp_path / "cifar-10-batches-bin", verify=False), images)
    loaded = load_cifar(tmp_path, verify=False)
    assert loaded.train_images.dtype == np.uint8 and loaded.train_images.shape == (200, 3, 32, 32)


def test_python_layout_round_trips_and_equals_binary(tmp_path):
    images = synthetic_images(200, 50, seed=3)
    write_py_layout(tmp_path / "py", images)
    write_bin_layout(tmp_path / "bin", images)
    assert_same(load_cifar(tmp_path / "py", verify=False), images)
    assert_same(load_cifar(tmp_path / "py", verify=False), load_cifar(tmp_path / "bin", verify=False))


def test_data_dir_from_environment(tmp_path, monkeypatch):
    images = synthetic_images(100, 20)
    write_bin_layout(tmp_path, images)
    monkeypatch.setenv("MOSAIC_SWEEP_DATA", str(tmp_path))
    assert_same(load_cifar(verify=False), images)


def test_missing_data_names_both_layouts(tmp_path):
    with pytest.raises(DataError) as err:
        load_cifar(tmp_path / "nowhere")
    message = str(err.value)
    assert "cifar-10-batches-bin" in message and "cifar-10-batches-py" in message and "\n" not in message


def test_partial_copy_is_reported(tmp_path):
    folder = write_bin_layout(tmp_path, synthetic_images(100, 20))
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match="partial.*data_batch_3.bin"):
        load_cifar(tmp_path, verify=False)


def test_md5_mismatch_is_corrupt(tmp_path):
    write_bin_layout(tmp_path, synthetic_images(100, 20))
    with pytest.raises(DataError, match="corrupt.*md5"):
        load_cifar(tmp_path)


def test_truncated_binary_file_is_corrupt(tmp_path):
    folder = write_bin_layout(tmp_path, synthetic_images(100, 20))
    path = folder / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="corrupt.*whole records"):
        load_cifar(tmp_path, verify=False)


def test_garbage_pickle_is_corrupt(tmp_path):
    folder = write_py_layout(tmp_path, synthetic_images(100, 20))
    (folder / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="corrupt"):
        load_cifar(tmp_path, verify=False)


@pytest.mark.realdata
def test_official_binary_copy_verifies_and_has_the_published_shape():
    path = real_data_dir()
    if path is None:
        pytest.skip("official CIFAR-10 copy not present")
    images = load_cifar(path)
    assert images.train_images.shape == (50000, 3, 32, 32) and images.test_images.shape == (10000, 3, 32, 32)
    assert np.bincount(images.train_labels).tolist() == [5000] * 10
    assert np.bincount(images.test_labels).tolist() == [1000] * 10
    # the official order: data_batch_1 starts frog, truck, truck, deer, automobile
    assert images.train_labels[:5].tolist() == [6, 9, 9, 4, 1]
