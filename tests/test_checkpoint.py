"""Checkpoints survive a crash: a run killed with SIGKILL mid-epoch and resumed ends bit-identical to one that
never stopped."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError

SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import chainrule as cr

    class Slow(cr.Callback):          # slows each batch so that the test can kill the run inside an epoch
        def on_batch_end(self, trainer, epoch, batch, loss):
            time.sleep(0.004)
        def on_epoch_end(self, trainer, epoch, logs):
            print("EPOCH", epoch + 1, flush=True)

    checkpoint, resume, out = sys.argv[1], sys.argv[2] == "resume", sys.argv[3]
    data = cr.datasets.load("digits")
    net = cr.mlp([64, 32, 10], activation="relu", dropout=0.1, seed=5)
    net.fit(data.X, data.y, epochs=6, batch_size=64, optimizer=cr.Adam(lr=1e-3), standardize=True,
            validation_split=0.1, seed=11, verbose=0, callbacks=[Slow()],
            checkpoint=None if checkpoint == "-" else checkpoint, resume=resume)
    net.save(out)
""")


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    python = [sys.executable, str(script)]
    subprocess.run(python + ["-", "fresh", str(tmp_path / "straight.npz")], check=True, timeout=300)

    ckpt = tmp_path / "ckpt"
    run = subprocess.Popen(python + [str(ckpt), "fresh", str(tmp_path / "resumed.npz")], stdout=subprocess.PIPE,
                           text=True)
    for line in run.stdout:
        if line.startswith("EPOCH 2"):
            break
    time.sleep(0.05)                                       # into epoch 3 (an epoch takes about 0.1 s)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert (ckpt / "checkpoint.npz").exists() and not (tmp_path / "resumed.npz").exists()
    assert not [p for p in ckpt.iterdir() if p.name != "checkpoint.npz"]     # no half-written file left

    subprocess.run(python + [str(ckpt), "resume", str(tmp_path / "resumed.npz")], check=True, timeout=300,
                   capture_output=True)
    straight, resumed = cr.load(tmp_path / "straight.npz"), cr.load(tmp_path / "resumed.npz")
    for name, value in straight.named_parameters().items():
        np.testing.assert_array_equal(resumed.named_parameters()[name], value, err_msg=name)


def test_resume_keeps_history_and_refuses_another_network(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), rng.integers(0, 2, 80)
    first = cr.mlp([3, 4, 2], seed=0).fit(X, y, epochs=2, checkpoint=tmp_path, verbose=0)
    history = cr.mlp([3, 4, 2], seed=0).fit(X, y, epochs=3, checkpoint=tmp_path, resume=True, verbose=0)
    assert history.epochs == 3 and history["loss"][:2] == first["loss"]
    with pytest.raises(ChainruleError, match="checkpoint is of a different network"):
        cr.mlp([3, 5, 2], seed=0).fit(X, y, epochs=3, checkpoint=tmp_path, resume=True, verbose=0)
    with pytest.raises(ChainruleError, match="made with SGD, not Adam"):
        cr.mlp([3, 4, 2], seed=0).fit(X, y, epochs=3, checkpoint=tmp_path, resume=True, verbose=0,
                                      optimizer=cr.Adam())
