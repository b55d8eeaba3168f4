"""A wrong benchmark option is a usage error that names the option, never a traceback from inside a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench import intake, models, relay, score, telegram_send
from bench.arguments import listed, positive_float, readable_file


@pytest.mark.parametrize(
    ("main", "argv", "said"),
    [
        (telegram_send.main, ["--limits", "30,abc"], "argument --limits: 'abc' is not a number"),
        (telegram_send.main, ["--faults", "-1"], "argument --faults: -1 is negative"),
        (relay.main, ["--learners", "0"], "argument --learners: 0 is not positive"),
        (relay.main, ["--rate", "0"], "argument --rate: 0 is not above 0"),
        (score.main, ["--candidates", "logistic,svm"], "argument --candidates: no model 'svm'"),
        (models.main, ["--folds", "1"], "argument --folds: 1 fold cannot cross-validate"),
        (models.main, ["--cutoffs", ","], "argument --cutoffs: an empty list"),
        (intake.main, ["--chat-log", "nowhere.csv"], "argument --chat-log: nowhere.csv: no such file"),
    ],
)
def test_a_wrong_option_is_a_usage_error_naming_it(
    main: Callable[[list[str]], object], argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


def test_lists_are_parsed_into_values(tmp_path: Path) -> None:
    assert listed(positive_float)("30, 1000") == [30.0, 1000.0]
    chat = tmp_path / "chat.csv"
    chat.write_text("username,message\n")
    assert readable_file(str(chat)) == chat
