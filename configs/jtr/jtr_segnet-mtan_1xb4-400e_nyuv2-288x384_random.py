# JTR (Nishi et al., CVPR 2024): joint-task auto-encoder regularization
# NYUv2, randomlabels (official MTPSL/JTR mask file).
_base_ = ['./jtr_segnet-mtan_1xb4-400e_nyuv2-288x384_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline={{_base_.baselines.random}})
test_evaluator = val_evaluator
