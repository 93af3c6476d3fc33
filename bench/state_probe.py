"""Can the demo's model learn *when* to act? A probe of one lesson of timing, four ways.

The lesson: after an edit the tests have not yet been run on, run them rather than finish;
once the tests have passed since the last edit, finish rather than run them again. Only the
state tells the two apart, and often not the last observation alone (a file read since).
Contexts are taken from the demo workspace's own rollouts (the train tasks' to learn
from, the held-out tasks' to test on); a LoRA adapter (PEFT, the training's settings: r 16,
alpha 32, all linear layers, learning rate 5e-4) learns the pairs with DPO's sigmoid loss
(beta 0.1) for three epochs; held-out accuracy is the share of pairs whose chosen action
gained on the rejected one, per state. A model that cannot see its state learns one answer
for both: about 1.0 on one side and 0 on the other.

The four ways: the model attending the whole prompt or within the demo's window
(`core.tiny_model`), each with and without the state notes (`[policy] state_notes`).

Run: `.venv/bin/python bench/state_probe.py [--workspace WS] [--pairs 192]`; without a
workspace the script builds the demo. About two minutes a way on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.agent.tools import TOOL_SCHEMAS  # noqa: E402
from core.chat import Rendering, agent_states, assistant_message, conversation  # noqa: E402
from core.schema import Step, ToolCall  # noqa: E402
from storage.workspace import Workspace  # noqa: E402

RUN_TESTS = ToolCall(name="run_tests", arguments={})
FINISH = ToolCall(name="finish", arguments={"message": "Done."})


def lessons(ws: Workspace) -> dict[str, list[tuple[str, list[Step], bool]]]:
    """(instruction, steps so far, whether running the tests is right) per split, at every step
    of every stored rollout where the lesson applies."""
    out: dict[str, list[tuple[str, list[Step], bool]]] = {"train": [], "heldout": []}
    with ws.store() as store:
        tasks = {t.id: t for t in store.tasks()}
        for row in store.db.query("SELECT id FROM rollouts ORDER BY id"):
            rollout = store.rollout(row["id"])
            task = tasks.get(rollout.task_id) if rollout else None
            if rollout is None or task is None or task.split not in out:
                continue
            for k, state in enumerate(agent_states(rollout.steps), start=1):
                untested = state.edited and not state.tested_since_edit
                passed = state.edited and state.tested_since_edit and state.last_run == "passed"
                if untested or passed:
                    out[task.split].append((task.instruction, rollout.steps[:k], untested))
    return out


def balanced(items: list, n: int, rng: random.Random) -> list:
    items = list(items)
    rng.shuffle(items)
    run = [x for x in items if x[2]][: n // 2]
    stop = [x for x in items if not x[2]][: n // 2]
    return run + stop


def probe(
    model_dir: Path, windowed: bool, notes: bool, train: list, test: list, seed: int
) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    if not windowed:
        config.sliding_window = None
        config.use_sliding_window = False
        config.layer_types = ["full_attention"] * config.num_hidden_layers
    model = AutoModelForCausalLM.from_pretrained(model_dir, config=config)
    rendering = Rendering(max_observation_chars=2000, state_notes=notes)

    def encode(instruction: str, steps: list[Step], action: ToolCall) -> tuple[list[int], list[int]]:
        messages = conversation(instruction, steps, rendering)
        prompt = tokenizer.apply_chat_template(
            messages, tools=TOOL_SCHEMAS, tokenize=False, add_generation_prompt=True
        )
        turn = Step(index=len(steps), tool_call=action)
        full = tokenizer.apply_chat_template(
            [*messages, assistant_message(turn)], tools=TOOL_SCHEMAS, tokenize=False
        )
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"][-3500:]
        return ids, tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]

    def pairs(items: list) -> list:
        return [
            (encode(i, s, RUN_TESTS if run else FINISH), encode(i, s, FINISH if run else RUN_TESTS), run)
            for i, s, run in items
        ]

    def logp(m, prompt_and_completion) -> torch.Tensor:
        prompt, completion = prompt_and_completion
        logits = m(input_ids=torch.tensor([prompt + completion])).logits[0, len(prompt) - 1 : -1]
        return logits.log_softmax(-1)[torch.arange(len(completion)), torch.tensor(completion)].sum()

    train_pairs, test_pairs = pairs(train), pairs(test)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    with torch.no_grad(), model.disable_adapter():
        reference = [(logp(model, c).item(), logp(model, r).item()) for c, r, _ in train_pairs]
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4)
    rng = random.Random(seed)
    for _ in range(3):
        order = list(range(len(train_pairs)))
        rng.shuffle(order)
        for j, n in enumerate(order):
            chosen, rejected, _ = train_pairs[n]
            margin = (logp(model, chosen) - reference[n][0]) - (logp(model, rejected) - reference[n][1])
            (-torch.nn.functional.logsigmoid(0.1 * margin) / 8).backward()
            if j % 8 == 7:
                optimiser.step()
                optimiser.zero_grad()
    right = {True: [0, 0], False: [0, 0]}
    with torch.no_grad():
        for chosen, rejected, run in test_pairs:
            with model.disable_adapter():
                base = logp(model, chosen) - logp(model, rejected)
            right[run][0] += int((logp(model, chosen) - logp(model, rejected)).item() > base.item())
            right[run][1] += 1
    return {
        "run when untested": right[True][0] / max(1, right[True][1]),
        "finish when passed": right[False][0] / max(1, right[False][1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--pairs", type=int, default=192, help="train pairs (held-out: half as many)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.workspace or Path(tempfile.mkdtemp(prefix="agentpref-probe-")) / "ws"
    if not (root / "agentpref.db").exists():
        print("building the demo workspace…", flush=True)
        subprocess.run([sys.executable, "-m", "tui", "init", "--demo", "-w", str(root)], cwd=ROOT, check=True)
    ws = Workspace.open(root)
    found = lessons(ws)
    rng = random.Random(args.seed)
    train = balanced(found["train"], args.pairs, rng)
    test = balanced(found["heldout"], args.pairs // 2, rng)
    states = f"of {len(found['train'])} and {len(found['heldout'])} states"
    print(f"{len(train)} train pairs, {len(test)} held-out pairs ({states})")
    print(f"{'attention':<10} {'notes':<6} {'run when untested':>18} {'finish when passed':>19} {'cpu s':>7}")
    for windowed in (False, True):
        for notes in (False, True):
            started = time.process_time()
            accuracy = probe(ws.root / ws.config().policy.model, windowed, notes, train, test, args.seed)
            print(
                f"{'window' if windowed else 'whole':<10} {'on' if notes else 'off':<6} "
                f"{accuracy['run when untested']:>18.2f} {accuracy['finish when passed']:>19.2f} "
                f"{time.process_time() - started:>7.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
