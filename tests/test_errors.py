"""forensic.errors.interruptible: SIGTERM and Ctrl-C become Interrupted (so cleanup code runs) only inside it."""

from __future__ import annotations

import os
import signal
import time

import pytest

from forensic.errors import Interrupted, interruptible


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_inside_raises_interrupted_then_the_old_handlers_come_back(signum, code):
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    stopped = []
    with pytest.raises(Interrupted) as caught:
        with interruptible(lambda: stopped.append(True)):
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler runs here, long before the end
    assert caught.value.exit_code == code and caught.value.signame == signal.Signals(signum).name
    assert stopped == [True]
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_second_signal_while_cleaning_up_is_ignored():
    cleaned = []
    with pytest.raises(Interrupted) as caught:
        with interruptible():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # a second one, e.g. an impatient Ctrl-C
                time.sleep(0.2)
                cleaned.append(True)
    assert cleaned == [True] and caught.value.signum == signal.SIGTERM
