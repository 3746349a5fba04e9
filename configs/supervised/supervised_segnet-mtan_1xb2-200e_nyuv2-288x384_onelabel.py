# Supervised partial-label MTL (MTPSL Eq. 1, labelled pairs only), NYUv2
# onelabel (official MTPSL/JTR mask file; docs/partial_labels.md).
_base_ = ['./supervised_segnet-mtan_1xb2-200e_nyuv2-288x384_full.py']
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline={{_base_.baselines.onelabel}})
test_evaluator = val_evaluator
