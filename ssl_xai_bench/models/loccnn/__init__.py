"""LocCNN (Vera-Diaz et al., Sensors 2018): ``network`` (the model) and ``lrp`` (its rules)."""
