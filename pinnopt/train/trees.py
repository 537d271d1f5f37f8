"""Nested training state (dicts, lists and tuples of tensors): copies and moves."""

from __future__ import annotations

import copy
from typing import Any

import torch


def clone_tree(state: Any) -> Any:
    """A copy of a nested state: tensors cloned, dicts and lists rebuilt (faster than deepcopy)."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: clone_tree(v) for k, v in state.items()}
    if isinstance(state, list):
        return [clone_tree(v) for v in state]
    if isinstance(state, tuple):
        return tuple(clone_tree(v) for v in state)
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    return copy.deepcopy(state)


def to_device(state: Any, device: torch.device) -> Any:
    """Move every tensor of a nested state to ``device``."""
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, dict):
        return {k: to_device(v, device) for k, v in state.items()}
    if isinstance(state, list):
        return [to_device(v, device) for v in state]
    return state
