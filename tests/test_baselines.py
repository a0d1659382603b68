"""What every baseline (CoOp, KgCoOp, PromptSRC) guarantees after stage 1, on the session-wide tiny runs."""
import pytest
import torch

from conftest import build

BASELINES = {  # trainer: (stage-1 fixture, registered model name, last epoch of its tiny config)
    "CoOp": ("coop_stage1", "prompt_learner", 2),
    "KgCoOp": ("kgcoop_stage1", "prompt_learner", 2),
    "PromptSRC": ("promptsrc_stage1", "VLPromptLearner", 3),
}


@pytest.fixture(params=list(BASELINES))
def baseline(request):
    fixture, model_name, epoch = BASELINES[request.param]
    flags, opts, run = request.getfixturevalue(fixture)
    return request.param, flags, opts, run, model_name, epoch


def test_eval_only_reload_reproduces_accuracy(baseline, capsys):
    """What train.py --eval-only does (same argument parsing, load_model, test), in-process to save a start-up."""
    _, flags, opts, run, model_name, epoch = baseline
    trainer = build(flags + ["--eval-only", "--model-dir", str(run.output_dir), "--load-epoch", str(epoch)] + opts)
    trainer.load_model(str(run.output_dir), epoch=epoch)
    assert round(trainer.test(), 1) == run.accuracy
    assert f'Loading weights to {model_name} from "' in capsys.readouterr().out


def test_base_trained_prompts_serve_new_classes(baseline):
    _, flags, opts, run, model_name, epoch = baseline
    trainer = build(flags + [o if o != "base" else "new" for o in opts])
    trainer.load_model(str(run.output_dir), epoch=epoch)
    learner = trainer.model.prompt_learner
    assert learner.classnames == ["orange diamond", "white bar", "pink triangle", "cyan circle", "brown square"]
    saved = torch.load(run.output_dir / model_name / f"model.pth.tar-{epoch}", weights_only=True)["state_dict"]
    assert torch.equal(learner.ctx.cpu(), saved["ctx"])
    assert not torch.equal(learner.token_suffix.cpu(), saved["token_suffix"])  # rebuilt for the new names
    assert 0.0 <= trainer.test() <= 100.0
