"""The README's Python example runs as written (on a tiny generated scene instead of your scan)."""

import re
from pathlib import Path

from tracklift.synth import SynthConfig, generate_scene

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "the README has one Python example"
    scene = generate_scene(
        tmp_path / "scan", SynthConfig(seed=1, frames=4, width=64, height=48, objects=5), progress=False
    )
    code = blocks[0].replace('"path/to/scan"', repr(str(scene)))
    assert code != blocks[0], "the example opens 'path/to/scan'"
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("[")  # the ranked (instance, score) list
