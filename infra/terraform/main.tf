# A Yilian production region: see docs/deploy.md for the picture, the sizing and the reasons.
# Nothing here names a partition: ARNs and service principals come from data.aws_partition and
# data.aws_service_principal, so the same code plans in aws (global) and aws-cn (Beijing, Ningxia).
data "aws_partition" "this" {}

data "aws_caller_identity" "this" {}

data "aws_service_principal" "this" {
  for_each     = toset(["logs", "monitoring", "vpc-flow-logs", "ecs-tasks", "ec2", "es", "cloudwatch"])
  service_name = each.key
  region       = var.region
}

data "aws_service_principal" "s3_logging" {
  service_name = "logging.s3"
  region       = var.region
}

locals {
  name          = "yilian-${var.environment}"
  partition     = data.aws_partition.this.partition
  principals    = { for k, p in data.aws_service_principal.this : k => p.name }
  self_hosted   = var.temporal.mode == "self_hosted"
  temporal_addr = local.self_hosted ? "temporal-frontend.${local.name}.yilian.internal:7233" : var.temporal.cloud_address

  turn_urls = [
    "turns:turn.${var.domain_name}:443?transport=tcp",
    "turn:turn.${var.domain_name}:3478?transport=udp",
  ]
}

module "kms" {
  source         = "./modules/kms"
  name           = local.name
  partition      = local.partition
  ops_principals = [local.principals["logs"], local.principals["cloudwatch"]]
}

module "network" {
  source             = "./modules/network"
  name               = local.name
  region             = var.region
  cidr               = var.vpc_cidr
  availability_zones = var.availability_zones
  kms_key_arn        = module.kms.key_arns["ops"]
  service_principals = { flow_logs = local.principals["vpc-flow-logs"] }
}

module "security" {
  source               = "./modules/security"
  name                 = local.name
  vpc_id               = module.network.vpc_id
  temporal_self_hosted = local.self_hosted
}

module "logs" {
  source               = "./modules/logs"
  name                 = local.name
  s3_logging_principal = data.aws_service_principal.s3_logging.name
}

module "storage" {
  source            = "./modules/storage"
  name              = local.name
  kms_key_arn       = module.kms.key_arns["images"]
  retention_years   = var.retention_years
  access_log_bucket = module.logs.bucket
}

module "secrets" {
  source      = "./modules/secrets"
  name        = local.name
  kms_key_arn = module.kms.key_arns["ops"]
}

module "database" {
  source               = "./modules/postgres"
  name                 = "${local.name}-app"
  database_name        = "yilian"
  instance_class       = var.sizing.db_instance_class
  instances            = var.sizing.db_instances
  availability_zones   = var.availability_zones
  subnet_ids           = module.network.data_subnet_ids
  security_group_id    = module.security.ids["db"]
  kms_key_arn          = module.kms.key_arns["database"]
  monitoring_principal = local.principals["monitoring"]
  partition            = local.partition
}

module "temporal_database" {
  source               = "./modules/postgres"
  count                = local.self_hosted ? 1 : 0
  name                 = "${local.name}-temporal"
  database_name        = "temporal"
  instance_class       = var.sizing.temporal_db_class
  instances            = 2
  availability_zones   = var.availability_zones
  subnet_ids           = module.network.data_subnet_ids
  security_group_id    = module.security.ids["tdb"]
  kms_key_arn          = module.kms.key_arns["database"]
  monitoring_principal = local.principals["monitoring"]
  partition            = local.partition
}

module "search" {
  source               = "./modules/search"
  name                 = "${local.name}-search"
  instance_type        = var.sizing.search_instance_type
  data_nodes           = var.sizing.search_data_nodes
  volume_gib           = var.sizing.search_volume_gib
  subnet_ids           = module.network.data_subnet_ids
  security_group_id    = module.security.ids["search"]
  kms_key_arn          = module.kms.key_arns["search"]
  logs_kms_key_arn     = module.kms.key_arns["ops"]
  master_role_arn      = module.services.task_role_arns["api"]
  client_role_arns     = [module.services.task_role_arns["api"], module.services.task_role_arns["worker"]]
  opensearch_principal = local.principals["es"]
}

module "edge" {
  source            = "./modules/edge"
  name              = local.name
  vpc_id            = module.network.vpc_id
  public_subnet_ids = module.network.public_subnet_ids
  security_group_id = module.security.ids["alb"]
  certificate_arn   = var.certificate_arn
  log_bucket        = module.logs.bucket
  logs_kms_key_arn  = module.kms.key_arns["ops"]
}

module "hosts" {
  source              = "./modules/hosts"
  name                = local.name
  region              = var.region
  partition           = local.partition
  vpc_cidr            = var.vpc_cidr
  ami_id              = var.host_ami_id
  subnet_ids          = module.network.public_subnet_ids
  security_group_ids  = module.security.ids
  ec2_principal       = local.principals["ec2"]
  live_hosts          = var.sizing.live_hosts
  live_instance_type  = var.sizing.live_instance_type
  live_control_port   = 8100
  live_udp_ports      = module.security.live_udp_ports
  turn_hosts          = var.sizing.turn_hosts
  turn_instance_type  = var.sizing.turn_instance_type
  turn_relay_ports    = module.security.turn_relay_ports
  turn_urls           = local.turn_urls
  live_secret_arn     = module.secrets.live_secret_arn
  turn_secret_arn     = module.secrets.turn_secret_arn
  secrets_kms_key_arn = module.kms.key_arns["ops"]
  ebs_kms_key_arn     = module.kms.key_arns["database"]
}

module "services" {
  source                  = "./modules/services"
  name                    = local.name
  region                  = var.region
  partition               = local.partition
  account_id              = data.aws_caller_identity.this.account_id
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.app_subnet_ids
  security_group_ids      = module.security.ids
  ecs_tasks_principal     = local.principals["ecs-tasks"]
  yilian_image            = var.images.yilian
  temporal_image          = var.images.temporal
  api_replicas            = var.sizing.api_replicas
  worker_replicas         = var.sizing.worker_replicas
  api_target_group_arn    = module.edge.target_group_arn
  secret_env              = module.secrets.env
  secret_kms_key_arns     = [module.kms.key_arns["ops"], module.kms.key_arns["database"]]
  images_bucket           = module.storage.bucket
  images_bucket_arn       = module.storage.bucket_arn
  images_kms_key_arn      = module.kms.key_arns["images"]
  search_endpoint         = module.search.endpoint
  search_domain           = "${local.name}-search"
  live_urls               = module.hosts.live_urls
  turn_urls               = local.turn_urls
  logs_kms_key_arn        = module.kms.key_arns["ops"]
  temporal_self_hosted    = local.self_hosted
  temporal_address        = local.temporal_addr
  temporal_namespace      = var.temporal.namespace
  temporal_history_shards = var.temporal.history_shards
  temporal_db_endpoint    = local.self_hosted ? module.temporal_database[0].endpoint : ""
  temporal_db_secret_arn  = local.self_hosted ? module.temporal_database[0].master_user_secret_arn : ""
}

module "alarms" {
  source                  = "./modules/alarms"
  name                    = local.name
  account_id              = data.aws_caller_identity.this.account_id
  kms_key_arn             = module.kms.key_arns["ops"]
  email                   = var.sla_alarm_email
  alb_arn_suffix          = module.edge.alb_arn_suffix
  target_group_arn_suffix = module.edge.target_group_arn_suffix
  db_clusters = merge(
    { app = module.database.cluster_identifier },
    local.self_hosted ? { temporal = module.temporal_database[0].cluster_identifier } : {},
  )
  search_domain = module.search.domain_name
}
