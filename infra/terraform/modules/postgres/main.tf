# An Aurora PostgreSQL cluster: a writer and at least one reader, each in its own zone (a zone's loss promotes
# the reader in about 30 s), encrypted with the database key, 35 days of point-in-time recovery, and deletion
# protection. Used twice: the application's database, and Temporal's persistence (kept apart so a burst of
# workflow history writes never slows the worklist).
resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  subnet_ids  = var.subnet_ids
}

resource "aws_rds_cluster_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "aurora-postgresql16"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # Schema changes and slow statements (over 1 s) are logged; "all" would copy patient data from every
  # statement into the logs.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV2_AWS_8:Backups are Aurora's continuous backup (35 days PITR) plus `yilian backup` dumps (docs/deploy.md); AWS Backup is optional on top.
  cluster_identifier_prefix       = "${var.name}-"
  engine                          = "aurora-postgresql"
  engine_version                  = var.engine_version
  database_name                   = var.database_name
  master_username                 = "yilian_admin"
  manage_master_user_password     = true
  master_user_secret_kms_key_id   = var.kms_key_arn
  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [var.security_group_id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name
  availability_zones              = var.availability_zones

  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  deletion_protection                 = true
  backup_retention_period             = 35
  preferred_backup_window             = "18:00-19:00" # 02:00-03:00 China Standard Time
  copy_tags_to_snapshot               = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  lifecycle {
    # AWS adds a third zone to the list by itself; that must not look like a replacement.
    ignore_changes = [availability_zones]
  }
}

resource "aws_rds_cluster_instance" "this" {
  count                           = var.instances
  identifier_prefix               = "${var.name}-${count.index}-"
  cluster_identifier              = aws_rds_cluster.this.id
  engine                          = aws_rds_cluster.this.engine
  engine_version                  = aws_rds_cluster.this.engine_version
  instance_class                  = var.instance_class
  availability_zone               = var.availability_zones[count.index % length(var.availability_zones)]
  db_subnet_group_name            = aws_db_subnet_group.this.name
  publicly_accessible             = false
  auto_minor_version_upgrade      = true
  performance_insights_enabled    = true
  performance_insights_kms_key_id = var.kms_key_arn
  monitoring_interval             = 30
  monitoring_role_arn             = aws_iam_role.monitoring.arn
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [var.monitoring_principal]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix        = "${var.name}-rds-mon-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
