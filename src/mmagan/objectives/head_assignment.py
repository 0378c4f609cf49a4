"""Balanced assignment of real samples to D's heads, for heads that are made to specialise.

Each real sample trains one head. Without a capacity limit the assignment collapses onto whichever
head scores highest early on, and a head with flat outputs never wins and stays dead; with one,
every head receives about B / K samples.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


@torch.no_grad()
def balanced_assignment(logits: Tensor) -> Tensor:
    """The head each sample trains, shape (B,), with at most ceil(B / K) samples per head.

    Scores are the heads' log-softmax over each sample's logits (how much a head prefers the sample
    over the other heads). In each of at most K rounds every unassigned sample proposes to its
    best-scoring head that still has room, and each head keeps its highest-scoring proposals up
    to its remaining room. A round either assigns every proposal or fills a head, so K rounds
    assign every sample. Fixed shapes and no data-dependent branch: no host read on a GPU.
    """
    b, k = logits.shape
    scores = torch.log_softmax(logits.detach().float(), dim=1)
    capacity = math.ceil(b / k)
    assigned = torch.full((b,), -1, dtype=torch.long, device=logits.device)
    room = torch.full((k,), capacity, dtype=torch.long, device=logits.device)
    heads = torch.arange(k, device=logits.device)
    for _ in range(k):
        open_ = assigned < 0
        choice = scores.masked_fill(room.unsqueeze(0) <= 0, -math.inf).argmax(1)
        chosen_score = scores.gather(1, choice.unsqueeze(1)).squeeze(1)
        # Rank of each proposal among the proposals to the same head, best score first.
        order = torch.argsort(chosen_score.masked_fill(~open_, -math.inf), descending=True, stable=True)
        proposes = (choice[order].unsqueeze(1) == heads) & open_[order].unsqueeze(1)  # (B, K)
        rank_sorted = (proposes.long().cumsum(0) * proposes).sum(1) - 1
        rank = torch.empty_like(rank_sorted).scatter_(0, order, rank_sorted)
        accept = open_ & (rank < room[choice])
        assigned = torch.where(accept, choice, assigned)
        room = room - ((choice.unsqueeze(1) == heads) & accept.unsqueeze(1)).sum(0)
    return assigned
