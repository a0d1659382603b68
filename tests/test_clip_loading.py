"""CLIP weights load from a state dict and from a TorchScript archive through the same path."""
import pytest
import torch

from fvgpt.clip_loading import CLIPLoadError, load_clip, resolve_checkpoint
from fvgpt.precision import resolve_precision
from fvgpt.tiny_clip import build_tiny_clip, save_tiny_clip


def test_state_dict_and_torchscript_give_the_same_model(tmp_path):
    model = build_tiny_clip(seed=3)
    a = load_clip(str(save_tiny_clip(tmp_path / "sd.pt", model)))
    b = load_clip(str(save_tiny_clip(tmp_path / "ts.pt", model, torchscript=True)))
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # clip.build_model semantics: fp16 weights, eval mode, architecture inferred from shapes
    assert a.dtype == torch.float16 and not a.training
    assert a.visual.conv1.weight.shape[-1] == 8 and a.visual.input_resolution == 32
    ref = model.state_dict()
    assert torch.allclose(sa["token_embedding.weight"].float(), ref["token_embedding.weight"])


def test_official_name_without_file_names_the_expected_path(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("clip.clip._download", lambda url, root: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(CLIPLoadError) as err:
        resolve_checkpoint("ViT-B/16")
    msg = str(err.value)
    assert str(tmp_path / "ViT-B-16.pt") in msg and "https://" in msg and "MODEL.BACKBONE.NAME" in msg


def test_unknown_name_lists_official_models():
    with pytest.raises(CLIPLoadError, match="ViT-B/16"):
        resolve_checkpoint("no/such/model.pt")


def test_not_a_clip_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(CLIPLoadError, match="not a CLIP checkpoint"):
        load_clip(str(path))


def test_fp16_on_cpu_falls_back_to_fp32(capsys):
    cpu = torch.device("cpu")
    assert resolve_precision("fp16", cpu) == "fp32"
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("fp16", torch.device("cuda")) == "fp16"
    with pytest.raises(ValueError, match="PREC"):
        resolve_precision("bf16", cpu)
