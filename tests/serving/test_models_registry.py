"""serving.models._registry: names -> factories, collisions, unknown names."""

from __future__ import annotations

import warnings

import pytest
from torch import nn

from serving import models
from serving.models import UnknownModelError, _registry, create_model, list_models, model_task, register_model


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the registry so test registrations never leak into other tests."""
    registry = dict(_registry._REGISTRY)
    monkeypatch.setattr(_registry, "_REGISTRY", registry)
    return registry


def test_builtin_architectures_are_registered() -> None:
    assert set(list_models()) >= {"efficientnet_lite0", "resnext50_lstm", "tiny_cnn", "tiny_lstm"}
    assert list_models() == sorted(list_models())
    assert set(list_models("image")) == {"efficientnet_lite0", "tiny_cnn"}
    assert set(list_models("video")) == {"resnext50_lstm", "tiny_lstm"}
    assert model_task("resnext50_lstm") == "video"


def test_register_and_create(scratch_registry: dict) -> None:
    @register_model("scratch_linear", task="image")
    def scratch_linear(pretrained: bool = False, width: int = 3) -> nn.Module:
        return nn.Linear(width, 1)

    model = create_model("scratch_linear", width=5)
    assert isinstance(model, nn.Linear) and model.in_features == 5
    assert "scratch_linear" in list_models("image")


def test_duplicate_name_from_another_factory_is_an_error(scratch_registry: dict) -> None:
    def other(**_: object) -> nn.Module:
        return nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        register_model("tiny_cnn")(other)
    assert scratch_registry["tiny_cnn"].factory is models.tiny.tiny_cnn


def test_reregistering_the_same_factory_warns(scratch_registry: dict) -> None:
    with pytest.warns(UserWarning, match="registered again"):
        register_model("tiny_cnn", task="image")(models.tiny.tiny_cnn)


def test_unknown_name_and_bad_kwargs_are_clear() -> None:
    with pytest.raises(UnknownModelError, match="unknown model architecture 'nope'.*tiny_cnn"):
        create_model("nope")
    with pytest.raises(TypeError, match="tiny_cnn.*unexpected"):
        create_model("tiny_cnn", colour="blue")
    with pytest.raises(ValueError):
        register_model("")
    with pytest.raises(ValueError):
        register_model("x", task="audio")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        create_model("tiny_cnn")  # no warnings on the happy path
