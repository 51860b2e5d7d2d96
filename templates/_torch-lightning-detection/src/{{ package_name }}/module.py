"""The LightningModule: a Transformers detector (RT-DETR family), its loss, mAP and optimizer.

Three ways to get the network, in this order:
- `hf_config` (filled in automatically and stored in every checkpoint): the architecture of
  a trained model, rebuilt without a download; the checkpoint's weights are loaded on top;
- `pretrained`: a hub id or local folder (`from_pretrained`), its classifier heads replaced
  for the data's classes (a new label map, `ignore_mismatched_sizes`);
- neither: `model_type` + `config` from scratch (random weights; the offline tiny preset).
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from transformers import AutoConfig, AutoModelForObjectDetection

from .boxes import cxcywh_to_xyxy
from .metrics import CocoMAP


def build_detector(
    num_classes: int,
    class_names: list[str],
    pretrained: str | None = None,
    model_type: str = "rt_detr_v2",
    config: dict[str, Any] | None = None,
    hf_config: dict[str, Any] | None = None,
) -> torch.nn.Module:
    labels = {
        "id2label": dict(enumerate(class_names)),
        "label2id": {name: i for i, name in enumerate(class_names)},
    }
    if hf_config:
        settings = {k: v for k, v in hf_config.items() if k != "model_type"}
        settings.update(labels, num_labels=num_classes)
        built = AutoConfig.for_model(hf_config["model_type"], **settings)
        return AutoModelForObjectDetection.from_config(built)
    if pretrained:
        # A new head for these classes; the backbone, encoder and decoder keep their weights.
        return AutoModelForObjectDetection.from_pretrained(
            pretrained, num_labels=num_classes, ignore_mismatched_sizes=True, **labels
        )
    built = AutoConfig.for_model(model_type, num_labels=num_classes, **labels, **(config or {}))
    return AutoModelForObjectDetection.from_config(built)


class Detector(L.LightningModule):
    """num_classes, class_names and image_size come from the data module (linked by cli.py)."""

    def __init__(
        self,
        pretrained: str | None = None,
        model_type: str = "rt_detr_v2",
        config: dict[str, Any] | None = None,
        num_classes: int = 3,
        class_names: list[str] | None = None,
        image_size: int = 640,
        lr: float = 1e-4,
        backbone_lr: float = 1e-5,
        weight_decay: float = 1e-4,
        warmup_steps: int = 20,
        score_threshold: float = 0.5,
        hf_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        if len(self.class_names) != num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {num_classes} classes")
        self.model = build_detector(
            num_classes, self.class_names, pretrained, model_type, config, hf_config
        )
        # The architecture travels in every checkpoint: reloading needs no hub and no config.
        self.hparams["hf_config"] = self.model.config.to_dict()
        # Sigmoid scores per class (RT-DETR, focal loss) or a softmax with a no-object class (DETR).
        self.focal = bool(getattr(self.model.config, "use_focal_loss", False))
        self.val_map = CocoMAP(num_classes)
        self.test_map = CocoMAP(num_classes)
        self.example_input_array = torch.zeros(1, 3, image_size, image_size)

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class logits [B, Q, C(+1)], boxes [B, Q, 4] as relative cx, cy, w, h)."""
        out = self.model(pixel_values=pixel_values)
        return out.logits, out.pred_boxes

    @torch.no_grad()
    def postprocess(
        self, logits: torch.Tensor, boxes: torch.Tensor, sizes: torch.Tensor, threshold: float
    ) -> list[dict[str, torch.Tensor]]:
        """Per image: {"boxes" xyxy in original pixels, "scores", "labels"}, best first."""
        logits, boxes = logits.float(), boxes.float()
        queries, classes = logits.shape[1], logits.shape[2]
        if self.focal:  # the best (query, class) pairs, as RT-DETR's image processor does
            scores, flat = logits.sigmoid().flatten(1).topk(queries, dim=1)
            labels, query = flat % classes, flat // classes
            boxes = boxes.gather(1, query.unsqueeze(-1).expand(-1, -1, 4))
        else:
            scores, labels = logits.softmax(-1)[..., :-1].max(-1)
        scale = torch.cat([sizes, sizes], dim=-1).to(boxes)[:, None, :]  # (w, h, w, h)
        xyxy = cxcywh_to_xyxy(boxes) * scale
        xyxy = torch.minimum(xyxy.clamp(min=0), scale)
        results = []
        for s, lab, box in zip(scores, labels, xyxy, strict=True):
            keep = s > threshold
            order = s[keep].argsort(descending=True)
            results.append(
                {"boxes": box[keep][order], "scores": s[keep][order], "labels": lab[keep][order]}
            )
        return results

    @staticmethod
    def truths(batch: dict[str, Any]) -> list[dict[str, torch.Tensor]]:
        """The batch's boxes as xyxy in original pixels (what the metric compares against)."""
        out = []
        for target, size in zip(batch["labels"], batch["sizes"], strict=True):
            scale = torch.cat([size, size]).to(target["boxes"])
            out.append(
                {"boxes": cxcywh_to_xyxy(target["boxes"]) * scale, "labels": target["class_labels"]}
            )
        return out

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        out = self.model(pixel_values=batch["pixel_values"], labels=batch["labels"])
        size = len(batch["labels"])
        self.log(
            "train_loss",
            out.loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
            sync_dist=True,
        )
        return out.loss

    def _evaluate(self, batch: dict[str, Any], stage: str, metric: CocoMAP) -> None:
        out = self.model(pixel_values=batch["pixel_values"], labels=batch["labels"])
        size = len(batch["labels"])
        self.log(
            f"{stage}_loss",
            out.loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
            sync_dist=True,
        )
        # Every kept query counts for mAP (threshold 0): COCO's precision-recall needs them all.
        metric.update(
            self.postprocess(out.logits, out.pred_boxes, batch["sizes"], 0.0), self.truths(batch)
        )

    def _log_map(self, stage: str, metric: CocoMAP) -> None:
        values = metric.compute()
        self.log_dict(
            {f"{stage}_{k}": v for k, v in values.items()}, prog_bar=stage == "val", sync_dist=False
        )
        metric.reset()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_map)

    def on_validation_epoch_end(self) -> None:
        self._log_map("val", self.val_map)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_map)

    def on_test_epoch_end(self) -> None:
        self._log_map("test", self.test_map)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, torch.Tensor]]:
        logits, boxes = self(batch["pixel_values"])
        found = self.postprocess(logits, boxes, batch["sizes"], self.hparams.score_threshold)
        for item, index in zip(found, batch["index"].tolist(), strict=True):
            item["index"] = index
        return found

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        backbone = [
            p for n, p in self.model.named_parameters() if "backbone" in n and p.requires_grad
        ]
        rest = [
            p for n, p in self.model.named_parameters() if "backbone" not in n and p.requires_grad
        ]
        # A pretrained backbone is fine-tuned gently; one trained from scratch learns at full speed.
        backbone_lr = hp.backbone_lr if hp.pretrained else hp.lr
        optimizer = torch.optim.AdamW(
            [{"params": backbone, "lr": backbone_lr}, {"params": rest, "lr": hp.lr}],
            weight_decay=hp.weight_decay,
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(hp.warmup_steps, total // 2)

        def factor(step: int) -> float:  # linear warm-up, then cosine decay to 0 at the end
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = min((step - warmup) / max(1, total - warmup), 1.0)
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
