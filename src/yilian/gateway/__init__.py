"""The hospital-side gateway (前置机): DICOM C-STORE SCP -> durable local queue -> STOW-RS to the cloud."""
