# One customer-managed key per kind of data, so a key's grants say exactly who reads what:
# images (S3), database (Aurora, Temporal's too), search (OpenSearch), and ops (logs, secrets, alarms topic).
data "aws_caller_identity" "this" {}

locals {
  account_root = "arn:${var.partition}:iam::${data.aws_caller_identity.this.account_id}:root"
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key and nothing else (KMS key policies cannot name the key's own ARN); write access is the account root's, delegated through IAM.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key and nothing else; there is no other resource to restrict it to.
  #checkov:skip=CKV_AWS_109:The account-root statement is the standard key policy that lets IAM policies grant use of the key; without it the key could become unmanageable.
  for_each = toset(var.purposes)

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  # CloudWatch Logs encrypts the log groups (flow logs, WAF, tasks) with the ops key, and CloudWatch alarms
  # publish to the encrypted SNS topic.
  dynamic "statement" {
    for_each = each.key == "ops" ? [1] : []
    content {
      sid       = "LogsEncrypt"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = var.ops_principals
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each                = toset(var.purposes)
  description             = "yilian ${var.name} ${each.key}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key[each.key].json
}

resource "aws_kms_alias" "this" {
  for_each      = toset(var.purposes)
  name          = "alias/yilian-${var.name}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
