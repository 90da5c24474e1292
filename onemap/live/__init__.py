"""Live data: observations appended as they arrive (feeds, HJ 212 field devices) and the
alarms evaluated on them — on the same store and catalogue as every imported layer."""
