"""SampleCNN localizer (Sundar et al., ICASSP 2020): ``network``, ``lrp`` and ``canonizers``."""
