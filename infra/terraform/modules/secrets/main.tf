# The application's secrets, each in Secrets Manager under the ops key; tasks receive them as environment
# variables through ECS `secrets`, never in a task definition. Random ones are generated once (Secrets Manager's
# own generator) and then left alone: rotating one is a procedure (docs/deploy.md), not a plan diff.
locals {
  generated = {
    jwt        = "YILIAN_JWT_SECRET"
    share-link = "YILIAN_SHARE_LINK_SECRET"
    deid       = "YILIAN_DEID_SECRET"
    webhook    = "YILIAN_WEBHOOK_SECRET"
    live       = "YILIAN_LIVE_SECRET"
    turn       = "YILIAN_LIVE_TURN_SECRET"
  }
  # Written by the operator once the database user exists (docs/deploy.md, first start).
  operator_set = {
    database-url = "YILIAN_DATABASE_URL"
  }
}

data "aws_secretsmanager_random_password" "this" {
  for_each            = local.generated
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:These are signing keys shared by running processes; rotating one invalidates live sessions and links, so it is a planned procedure (docs/deploy.md), not a Lambda on a timer. The database admin secret is RDS-managed and rotates.
  for_each                = merge(local.generated, local.operator_set)
  name_prefix             = "yilian/${var.name}/${each.key}-"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "generated" {
  for_each      = local.generated
  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = data.aws_secretsmanager_random_password.this[each.key].random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}
