"""Lightning object-detection project.

data.py (COCO-JSON, YOLO-txt or the drawn shapes sample; boxes.py augments) -> module.py
(the detector, mAP from metrics.py) <- cli.py (LightningCLI + configs/); callbacks.py writes
predictions (JSON + PNG), export.py writes ONNX checked in ONNX Runtime.
"""
