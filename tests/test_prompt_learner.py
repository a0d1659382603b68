"""CoOp prompt assembly: context init, CSC, class-token positions, rebuilding for new classes."""
import clip
import pytest
import torch

from fvgpt.prompt_learner import PromptLearner
from fvgpt.tiny_clip import build_tiny_clip

NAMES = ["red_circle", "sea or lake", "x"]


@pytest.fixture(scope="module")
def emb():
    return build_tiny_clip(seed=1).token_embedding


def _reference(emb, texts):
    with torch.no_grad():
        return emb(clip.tokenize(texts))


@pytest.mark.parametrize(
    "position,template",
    [("end", "X X X X {}."), ("middle", "X X {} X X."), ("front", "{} X X X X.")],
)
def test_positions_match_the_tokenised_sentence(emb, position, template):
    learner = PromptLearner(NAMES, emb, n_ctx=4, class_token_position=position)
    x_token = _reference(emb, ["X"])[0, 1]
    with torch.no_grad():
        learner.ctx.copy_(x_token.expand(4, -1))  # a context equal to the word "X" reproduces the text
    expected = _reference(emb, [template.format(n.replace("_", " ")) for n in NAMES])
    assert torch.allclose(learner(), expected)
    assert learner.tokenized_prompts.shape == (3, 77)


def test_ctx_init_sets_words_and_count(emb):
    learner = PromptLearner(NAMES, emb, n_ctx=16, ctx_init="a_photo of a")
    assert learner.n_ctx == 4 and learner.ctx.shape == (4, emb.weight.shape[1])
    expected = _reference(emb, [f"a photo of a {n.replace('_', ' ')}." for n in NAMES])
    assert torch.allclose(learner(), expected)


def test_csc_has_one_context_per_class_and_init_is_generic(emb):
    csc = PromptLearner(NAMES, emb, n_ctx=2, csc=True)
    assert csc.ctx.shape == (3, 2, emb.weight.shape[1])
    generic = PromptLearner(NAMES, emb, ctx_init="a photo", csc=True)
    assert generic.ctx.dim() == 2  # CoOp: an initialised context is always generic


def test_random_init_is_normal_002(emb):
    torch.manual_seed(0)
    learner = PromptLearner(["a"] * 50, emb, n_ctx=16, csc=True)
    assert abs(learner.ctx.std().item() - 0.02) < 0.002


def test_set_classnames_rebuilds_tokens_and_keeps_context(emb):
    learner = PromptLearner(NAMES, emb, n_ctx=4)
    ctx = learner.ctx.detach().clone()
    learner.set_classnames(["blue triangle", "cat"], emb)
    assert learner.n_cls == 2 and torch.equal(learner.ctx, ctx)
    assert learner().shape == (2, 77, emb.weight.shape[1])
    assert set(learner.state_dict()) == {"ctx", "token_prefix", "token_suffix"}


def test_bad_position_is_a_clear_error(emb):
    with pytest.raises(ValueError, match="CLASS_TOKEN_POSITION"):
        PromptLearner(NAMES, emb, class_token_position="left")
