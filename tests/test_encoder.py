"""The shared ONNX sentence encoder, run against the committed artefacts in models/minilm."""

from __future__ import annotations

import numpy as np
import pytest

from tidebreak.embed import DIM, Encoder, default_model_dir, get_encoder


@pytest.fixture(scope="module")
def enc() -> Encoder:
    return get_encoder()


def test_model_dir_resolves_to_checkout() -> None:
    d = default_model_dir()
    assert (d / "encoder.int8.onnx").is_file()
    assert (d / "tokenizer.json").is_file()


def test_env_var_overrides_models_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TIDEBREAK_MODELS_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path / "minilm"
    with pytest.raises(FileNotFoundError):
        Encoder()


def test_shape_dtype_and_normalised(enc: Encoder) -> None:
    v = enc.encode(["hello world", "a much longer sentence about the weather in Lisbon", ""])
    assert v.shape == (3, DIM)
    assert v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert enc.encode([]).shape == (0, DIM)


def test_similar_closer_than_unrelated(enc: Encoder) -> None:
    a, b, c = enc.encode([
        "The cat sat on the mat.",
        "A kitten was sitting on the rug.",
        "Quarterly earnings beat analyst expectations.",
    ])
    assert a @ b > a @ c + 0.2
    q, claim, other = enc.encode([
        "5G masts spread the coronavirus",
        "Claim: 5G networks cause COVID-19 infections",
        "The city council approved a new bike lane",
    ])
    assert q @ claim > 0.6 > q @ other


def test_batch_equals_one_by_one(enc: Encoder) -> None:
    texts = ["short", "a somewhat longer sentence with more tokens in it, and a comma",
             "I will find you and kill you", "", "word " * 300, "日本語のテキスト", "🔥🔥"]
    batched = enc.encode(texts, batch_size=4)
    single = np.stack([enc.encode([t])[0] for t in texts])
    assert np.allclose(batched, single, atol=1e-5)
    # order of the input does not matter either
    rev = enc.encode(texts[::-1], batch_size=64)[::-1]
    assert np.allclose(batched, rev, atol=1e-5)


def test_truncation_is_reported(enc: Encoder) -> None:
    info = enc.encode_with_info(["short text", "word " * 500, "x" * 1_000_000, "y " * 500_000])
    assert info.truncated.tolist() == [False, True, True, True]
    assert info.n_tokens.max() <= enc.max_length
    assert np.isfinite(info.vectors).all()


def test_long_text_reads_only_the_start(enc: Encoder) -> None:
    head = "The quick brown fox jumps over the lazy dog. " * 20
    a, b = enc.encode([head + "completely different ending " * 100, head + "x"])
    assert a @ b > 0.9


def test_rejects_single_string(enc: Encoder) -> None:
    with pytest.raises(TypeError):
        enc.encode("not a list")  # type: ignore[arg-type]


def test_max_length_configurable() -> None:
    short = Encoder(max_length=16)
    info = short.encode_with_info(["one two three four five six seven eight nine ten " * 3])
    assert info.truncated[0] and info.n_tokens[0] == 16
    with pytest.raises(ValueError):
        Encoder(max_length=1000)


def test_default_is_cached() -> None:
    assert get_encoder() is get_encoder()
