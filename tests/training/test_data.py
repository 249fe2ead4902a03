"""The training data path: a dict of tensors batched by one gather per field, equal to item-by-item collation."""

from __future__ import annotations

import torch
from torch.utils.data import default_collate

from seek.training.data import TensorDictDataset, loader


def test_batches_of_a_tensor_dict_equal_item_by_item_collation() -> None:
    generator = torch.Generator().manual_seed(0)
    tensors = {
        "x": torch.randn(10, 4, 3, generator=generator),
        "mask": torch.rand(10, 4, generator=generator) > 0.3,
        "y": torch.randint(0, 5, (10,), generator=generator),
    }
    dataset = TensorDictDataset(tensors)
    batches = [[3, 1, 7], [0], [9, 8, 2, 4]]
    for batch, indices in zip(loader(dataset, batches, 0, 0, False), batches, strict=True):
        expected = default_collate([dataset[i] for i in indices])
        assert type(batch) is dict and batch.keys() == expected.keys()
        for key, value in expected.items():
            assert batch[key].dtype == value.dtype and torch.equal(batch[key], value), key


class Items:
    """A map-style dataset of its own (no batched fetch): still collated by torch's default."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": torch.full((2,), float(index)), "y": torch.tensor(index)}


def test_a_dataset_without_batched_fetch_goes_through_the_default_collate() -> None:
    (batch,) = list(loader(Items(), [[2, 0]], 0, 0, False))
    assert torch.equal(batch["x"], torch.tensor([[2.0, 2.0], [0.0, 0.0]]))
    assert torch.equal(batch["y"], torch.tensor([2, 0]))
