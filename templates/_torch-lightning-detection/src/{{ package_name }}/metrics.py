"""COCO mAP as a torchmetrics Metric, computed by faster-coco-eval.

torchmetrics' own MeanAveragePrecision needs torchvision (it converts boxes with
torchvision.ops in update(), whatever the backend), and torchvision wheels are built for one
torch version each. This metric feeds the same COCO evaluation (faster-coco-eval, a fast
fork of pycocotools that gives identical numbers) without it, and syncs across processes
like any torchmetrics metric (list states, concatenated under DDP).
"""

from __future__ import annotations

import contextlib
import io

import torch
from torchmetrics import Metric


class CocoMAP(Metric):
    """mAP (IoU 0.50:0.95), mAP@0.5 and mAP@0.75 over xyxy pixel boxes, COCO's way."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, num_classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        # Rows: [image key, label, score, x0, y0, x1, y1] / [image key, label, x0, y0, x1, y1].
        self.add_state("detections", default=[], dist_reduce_fx="cat")
        self.add_state("truths", default=[], dist_reduce_fx="cat")
        self.add_state("images", default=[], dist_reduce_fx="cat")
        self._seen = 0

    def update(
        self, preds: list[dict[str, torch.Tensor]], targets: list[dict[str, torch.Tensor]]
    ) -> None:
        """preds: {"boxes", "scores", "labels"}; targets: {"boxes", "labels"} per image."""
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        for pred, target in zip(preds, targets, strict=True):
            key = float(rank * 10_000_000 + self._seen)  # unique per image across processes
            self._seen += 1
            self.images.append(torch.tensor([key], device=self.device))
            n, m = len(pred["labels"]), len(target["labels"])
            self.detections.append(
                torch.cat(
                    [
                        torch.full((n, 1), key, device=self.device),
                        pred["labels"].reshape(n, 1).float().to(self.device),
                        pred["scores"].reshape(n, 1).float().to(self.device),
                        pred["boxes"].reshape(n, 4).float().to(self.device),
                    ],
                    dim=1,
                )
            )
            self.truths.append(
                torch.cat(
                    [
                        torch.full((m, 1), key, device=self.device),
                        target["labels"].reshape(m, 1).float().to(self.device),
                        target["boxes"].reshape(m, 4).float().to(self.device),
                    ],
                    dim=1,
                )
            )

    def reset(self) -> None:
        super().reset()
        self._seen = 0

    @staticmethod
    def _rows(state: list[torch.Tensor] | torch.Tensor, width: int) -> list[list[float]]:
        if isinstance(state, list):
            state = torch.cat(state) if state else torch.zeros(0, width)
        return state.reshape(-1, width).cpu().tolist()

    def compute(self) -> dict[str, torch.Tensor]:
        from faster_coco_eval import COCO, COCOeval_faster

        keys = [row[0] for row in self._rows(self.images, 1)]
        truths, detections = self._rows(self.truths, 6), self._rows(self.detections, 7)
        ids = {key: i for i, key in enumerate(keys)}
        images = [{"id": i} for i in range(len(keys))]
        annotations = [
            {
                "id": n + 1,
                "image_id": ids[key],
                "category_id": int(label),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
            }
            for n, (key, label, x0, y0, x1, y1) in enumerate(truths)
        ]
        results = [
            {
                "image_id": ids[key],
                "category_id": int(label),
                "score": score,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
            }
            for key, label, score, x0, y0, x1, y1 in detections
        ]
        nan = torch.tensor(float("nan"))
        if not annotations:  # nothing to find: COCO's mAP is undefined
            return {"map": nan, "map_50": nan, "map_75": nan}
        with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its summary table
            truth = COCO()
            truth.dataset = {
                "images": images,
                "annotations": annotations,
                "categories": [{"id": c} for c in range(self.num_classes)],
            }
            truth.createIndex()
            if not results:
                return {
                    "map": torch.tensor(0.0),
                    "map_50": torch.tensor(0.0),
                    "map_75": torch.tensor(0.0),
                }
            evaluator = COCOeval_faster(truth, truth.loadRes(results), "bbox")
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        stats = [max(float(v), 0.0) for v in evaluator.stats[:3]]  # -1 = no such boxes
        return {
            name: torch.tensor(v)
            for name, v in zip(("map", "map_50", "map_75"), stats, strict=True)
        }
