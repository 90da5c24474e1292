"""HJ 212 (污染物在线监控（监测）系统数据传输), the protocol field data-acquisition devices
(数采仪) at pollution-source outlets speak over TCP: frames, the CP data area, the pollutant
codes, and the receiver. Written from the text of HJ 212-2017 (see /work/shared/hj212-notes.md
for what was verified where) with the HJ 212-2025 revision as a second dialect.
"""
