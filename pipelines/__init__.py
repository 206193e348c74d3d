"""Luigi tasks of radiomix: wiring, parameters and targets only; the work is done by :mod:`radiomix`."""
