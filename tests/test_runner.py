"""The graph runner: dynamically quantised graphs run one text at a time, so a text's result is
bit-for-bit the same whatever it is scored with."""

from __future__ import annotations

import numpy as np
import pytest

from tidebreak.detect.harm import default_model_dir
from tidebreak.embed.runner import PER_TEXT, GraphRunner


@pytest.fixture(scope="module")
def harm_runner_and_tok():
    from tokenizers import Tokenizer

    d = default_model_dir()
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.no_padding()
    return GraphRunner(d / "harm.int8.onnx", threads=2), tok


def test_bundled_harm_graph_runs_per_text(harm_runner_and_tok):
    runner, _ = harm_runner_and_tok
    assert runner.mode == PER_TEXT


def test_result_does_not_depend_on_batch_mates(harm_runner_and_tok):
    runner, tok = harm_runner_and_tok
    target = "people like you should be driven out of this town"
    others = ["hi", "a much longer post about the weather, the bus and the price of bread " * 3,
              "WHAT A GAME!!! 🔥", "you people"]
    alone = runner.run(tok.encode_batch([target]))[0]
    mixed = runner.run(tok.encode_batch(others[:2] + [target] + others[2:]))[2]
    assert np.array_equal(alone, mixed)


def test_rows_come_back_in_input_order(harm_runner_and_tok):
    runner, tok = harm_runner_and_tok
    texts = ["short", "a somewhat longer text than the first", "x " * 40, "mid length text here"]
    together = runner.run(tok.encode_batch(texts))
    one_by_one = np.stack([runner.run(tok.encode_batch([t]))[0] for t in texts])
    assert np.array_equal(together, one_by_one)


def test_empty_input_is_an_error(harm_runner_and_tok):
    runner, _ = harm_runner_and_tok
    with pytest.raises(ValueError):
        runner.run([])


def test_bundled_sentence_encoder_runs_per_text_too() -> None:
    from tidebreak.embed import get_encoder

    enc = get_encoder()
    assert enc._runner.mode == PER_TEXT
    a = enc.encode(["the polls close at 8pm"])[0]
    b = enc.encode(["x", "the polls close at 8pm", "a much longer sentence " * 5])[1]
    assert np.array_equal(a, b)
