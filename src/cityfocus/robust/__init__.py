"""Robustness to hostile inputs: projected-gradient attacks on a trained forecaster's input
readings, against its forecast error or against the decision made from it
(``cityfocus.robust.attack``). Broken-sensor faults and their detection are
``cityfocus.data.faults``; training with masked and adversarial inputs is a forecaster option
(``input_dropout``, ``adversarial``; ``cityfocus.training.robustness``)."""
