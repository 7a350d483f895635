"""Speech source localizers under study (LocCNN, SampleCNN), their training and baselines.

Inputs are raw multichannel windows ``(B, M, T)`` float32 (M microphones, T samples at 16 kHz);
outputs are source positions ``(B, 3)`` in metres, room coordinates. Depends on torch/numpy only.
"""
