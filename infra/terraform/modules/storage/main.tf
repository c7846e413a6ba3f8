# The image archive: every DICOM instance, write-once. Object Lock in COMPLIANCE mode keeps each version for
# retention_years whatever anyone (root included) asks; the application's retention policy (docs/retention.md)
# sets longer per-object retention for inpatient records and refuses deletion before it is due.
resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_144:Cross-region replication: the only other China region is a separate deployment decision (docs/deploy.md, data residency); versioning + Object Lock + AWS's in-region multi-AZ durability keep the copies.
  #checkov:skip=CKV2_AWS_62:No event notifications: ingest is driven by the API's Temporal workflows, not by S3 events.
  bucket_prefix       = "${var.name}-images-"
  object_lock_enabled = true
  force_destroy       = false
}

resource "aws_s3_bucket_versioning" "images" {
  bucket = aws_s3_bucket.images.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  rule {
    default_retention {
      mode  = "COMPLIANCE"
      years = var.retention_years
    }
  }
  depends_on = [aws_s3_bucket_versioning.images]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket, not per object: millions of small instances would otherwise mean millions of KMS calls.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket                  = aws_s3_bucket.images.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Recent studies are read often (priors, consults); older ones rarely but must still open in seconds when a
# patient returns, hence Glacier Instant Retrieval, not the archive tiers that take hours.
resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "tiering"
    status = "Enabled"
    filter {}

    transition {
      days          = var.infrequent_access_after_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.glacier_after_days
      storage_class = "GLACIER_IR"
    }
    noncurrent_version_transition {
      noncurrent_days = 30
      storage_class   = "GLACIER_IR"
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_logging" "images" {
  bucket        = aws_s3_bucket.images.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/images/"
}

data "aws_iam_policy_document" "images" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.images.arn,
      "${aws_s3_bucket.images.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyUnencryptedPuts"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.images.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket     = aws_s3_bucket.images.id
  policy     = data.aws_iam_policy_document.images.json
  depends_on = [aws_s3_bucket_public_access_block.images]
}
