"""Images on content: safe loading and decoding, PDQ hashes and their banks, text in images.

- `load`: untrusted media references (`{"data"}`, `{"url"}`, `{"path"}`) to bytes, safely.
- `decode`: bytes to a checked Pillow image (pixel limit, truncation, format allow-list).
- `pdq`: Meta's PDQ through `pdqhash`, written as HMA writes it (64 hex).
- `pdq_index`: vectorised Hamming search over packed uint64 (multi-index for large banks).
- `ocr`: text in images with rapidocr's bundled PP-OCR ONNX models, loaded once, lazily.
- `prepare`: the pipeline's preparation step (OCR text joined to the caption for detectors).
- `banklists`: HMA / ThreatExchange hash-list import and export.
"""
