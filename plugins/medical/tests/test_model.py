"""The detector network and its loss: shapes, attention, targets on the output grid, one learning step."""

from __future__ import annotations

import torch

from seek_medical.model import ChannelSpatialAttention3D, build, detection_loss, targets, to_cells


def test_network_outputs_six_maps_at_half_resolution_and_rebuilds_from_its_config():
    model = build(width=4, levels=2)
    out = model(torch.zeros(2, 1, 16, 16, 16))
    assert out.shape == (2, 6, 8, 8, 8)
    again = build(**model.config)
    assert sum(p.numel() for p in again.parameters()) == model.num_parameters()


def test_attention_reweights_channels_and_voxels():
    block = ChannelSpatialAttention3D(8)
    x = torch.randn(1, 8, 6, 6, 6)
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(x, y)
    assert torch.all(y.abs() <= x.abs() + 1e-6)  # sigmoid gates only attenuate


def test_targets_put_one_positive_at_the_nodule_centre_cell():
    boxes = torch.zeros(1, 2, 5)
    boxes[0, 0] = torch.tensor([8.5, 6.5, 4.5, 6.0, 1.0])  # voxels 8-9, 6-7, 4-5 -> cell (4, 3, 2)
    target = targets(boxes, (8, 8, 8))
    assert target["heat"][0, 4, 3, 2] == 1.0 and (target["heat"] >= 0.999).sum() == 1
    assert torch.allclose(to_cells(boxes)[0, 0, :3], torch.tensor([4.0, 3.0, 2.0]))
    assert abs(float(target["size"][0, 4, 3, 2]) - float(torch.log(torch.tensor(6.0)))) < 1e-5


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = build(width=4, levels=2)
    x = torch.full((2, 1, 16, 16, 16), -0.6)
    x[:, :, 6:10, 6:10, 6:10] = 0.4
    y = torch.zeros(2, 16, 16, 16, dtype=torch.uint8)
    y[:, 6:10, 6:10, 6:10] = 1
    boxes = torch.zeros(2, 6, 5)
    boxes[:, 0] = torch.tensor([7.5, 7.5, 7.5, 4.0, 1.0])
    batch = {"y": y, "boxes": boxes}
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(detection_loss(model(x), batch))
    for _ in range(15):
        loss = detection_loss(model(x), batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        assert float(detection_loss(model(x), batch)) < 0.7 * first
