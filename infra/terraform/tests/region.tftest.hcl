# Offline checks of the region's rules, in plan mode against a mocked AWS provider (no account, no network):
# run by tests/infra/test_terraform.py in `make test`. Each run states one rule of issue 15 / docs/deploy.md.

mock_provider "aws" {
  # The China partition: every ARN and service principal must come out of these, never a literal "arn:aws:".
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws-cn"
      dns_suffix = "amazonaws.com.cn"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_service_principal" {
    defaults = {
      name = "service.amazonaws.com.cn"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_elb_service_account" {
    defaults = {
      arn = "arn:aws-cn:iam::638102146993:root"
    }
  }
}

variables {
  region             = "cn-northwest-1"
  availability_zones = ["cn-northwest-1a", "cn-northwest-1b", "cn-northwest-1c"]
  domain_name        = "yilian.example.cn"
  certificate_arn    = "arn:aws-cn:acm:cn-northwest-1:123456789012:certificate/test"
  host_ami_id        = "ami-0123456789abcdef0"
  images = {
    yilian   = "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/yilian:1"
    temporal = "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/temporal-server:1.27"
  }
}

run "whole_region_plans_in_aws_cn" {
  command = plan

  assert {
    condition     = output.partition == "aws-cn"
    error_message = "The partition must come from data.aws_partition."
  }

  assert {
    condition     = contains(values(output.world_open), "tcp/443-443")
    error_message = "The ALB (and TURN over TLS) must be reachable on 443."
  }

  assert {
    condition = alltrue([
      for k, v in output.world_open :
      contains(["tcp/443-443", "udp/40000-49999", "udp/3478-3478", "tcp/3478-3478", "udp/50000-59999"], v)
    ])
    error_message = "Only 443 and the live media / TURN ports may be open to the world; found ${jsonencode(output.world_open)}."
  }

  assert {
    condition     = output.temporal_address == "temporal-frontend.yilian-prod.yilian.internal:7233"
    error_message = "Self-hosted Temporal is reached through its private DNS name."
  }
}

run "temporal_cloud_is_an_option" {
  command = plan

  variables {
    region             = "ap-east-1"
    availability_zones = ["ap-east-1a", "ap-east-1b"]
    temporal           = { mode = "cloud", cloud_address = "yilian.abcde.tmprl.cloud:7233" }
  }

  assert {
    condition     = output.temporal_address == "yilian.abcde.tmprl.cloud:7233"
    error_message = "With Temporal Cloud the workers dial its address."
  }

  assert {
    condition     = !contains(keys(output.world_open), "tdb_from_temporal") && length(module.temporal_database) == 0
    error_message = "With Temporal Cloud no Temporal database is created."
  }
}

run "one_zone_is_refused" {
  command = plan

  variables {
    availability_zones = ["cn-northwest-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "images_are_locked_encrypted_and_private" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    name              = "t"
    kms_key_arn       = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/images"
    retention_years   = 15
    access_log_bucket = "t-logs"
  }

  assert {
    condition     = aws_s3_bucket.images.object_lock_enabled == true
    error_message = "Object Lock must be enabled on the image bucket."
  }

  assert {
    condition     = aws_s3_bucket_object_lock_configuration.images.rule[0].default_retention[0].mode == "COMPLIANCE"
    error_message = "Object Lock must be in COMPLIANCE mode (GOVERNANCE can be lifted by an admin)."
  }

  assert {
    condition     = aws_s3_bucket_object_lock_configuration.images.rule[0].default_retention[0].years == 15
    error_message = "Default retention must be the retention period in years."
  }

  assert {
    condition     = aws_s3_bucket_versioning.images.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be on."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.images.block_public_acls,
      aws_s3_bucket_public_access_block.images.block_public_policy,
      aws_s3_bucket_public_access_block.images.ignore_public_acls,
      aws_s3_bucket_public_access_block.images.restrict_public_buckets,
    ])
    error_message = "All four public-access blocks must be on."
  }

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_server_side_encryption_configuration.images.rule :
      alltrue([for d in r.apply_server_side_encryption_by_default : d.sse_algorithm == "aws:kms" && d.kms_master_key_id == var.kms_key_arn])
    ])
    error_message = "Images must be encrypted with the images KMS key."
  }

  assert {
    condition = toset(flatten([
      for r in aws_s3_bucket_lifecycle_configuration.images.rule : [for t in r.transition : t.storage_class]
    ])) == toset(["STANDARD_IA", "GLACIER_IR"])
    error_message = "Lifecycle must move images to infrequent access, then Glacier."
  }
}

run "retention_below_fifteen_years_is_refused" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    name              = "t"
    kms_key_arn       = "arn:aws-cn:kms:cn-north-1:123456789012:key/images"
    retention_years   = 10
    access_log_bucket = "t-logs"
  }

  expect_failures = [var.retention_years]
}

run "database_is_multi_az_encrypted_protected" {
  command = plan

  module {
    source = "./modules/postgres"
  }

  variables {
    name                 = "t"
    database_name        = "yilian"
    instance_class       = "db.r6g.large"
    instances            = 2
    availability_zones   = ["cn-north-1a", "cn-north-1b"]
    subnet_ids           = ["subnet-a", "subnet-b"]
    security_group_id    = "sg-db"
    kms_key_arn          = "arn:aws-cn:kms:cn-north-1:123456789012:key/db"
    monitoring_principal = "monitoring.rds.amazonaws.com.cn"
    partition            = "aws-cn"
  }

  assert {
    condition     = aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.kms_key_id == var.kms_key_arn
    error_message = "The cluster must be encrypted with the database key."
  }

  assert {
    condition     = aws_rds_cluster.this.deletion_protection
    error_message = "Deletion protection must be on."
  }

  assert {
    condition     = aws_rds_cluster.this.backup_retention_period >= 35
    error_message = "Point-in-time recovery must cover 35 days."
  }

  assert {
    condition     = length(distinct([for i in aws_rds_cluster_instance.this : i.availability_zone])) >= 2
    error_message = "Writer and reader must be in different zones."
  }

  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.this : !i.publicly_accessible])
    error_message = "No database instance may be public."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.monitoring.policy_arn == "arn:aws-cn:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    error_message = "ARNs must be built from the partition."
  }
}

run "single_database_instance_is_refused" {
  command = plan

  module {
    source = "./modules/postgres"
  }

  variables {
    name                 = "t"
    database_name        = "yilian"
    instance_class       = "db.r6g.large"
    instances            = 1
    availability_zones   = ["cn-north-1a", "cn-north-1b"]
    subnet_ids           = ["subnet-a", "subnet-b"]
    security_group_id    = "sg-db"
    kms_key_arn          = "arn:aws-cn:kms:cn-north-1:123456789012:key/db"
    monitoring_principal = "monitoring.rds.amazonaws.com.cn"
    partition            = "aws-cn"
  }

  expect_failures = [var.instances]
}

run "search_is_private_encrypted_fine_grained" {
  command = plan

  module {
    source = "./modules/search"
  }

  variables {
    name                 = "t-search"
    instance_type        = "r6g.large.search"
    data_nodes           = 3
    volume_gib           = 100
    subnet_ids           = ["subnet-a", "subnet-b", "subnet-c"]
    security_group_id    = "sg-search"
    kms_key_arn          = "arn:aws-cn:kms:cn-north-1:123456789012:key/search"
    logs_kms_key_arn     = "arn:aws-cn:kms:cn-north-1:123456789012:key/ops"
    master_role_arn      = "arn:aws-cn:iam::123456789012:role/api"
    client_role_arns     = ["arn:aws-cn:iam::123456789012:role/api"]
    opensearch_principal = "es.amazonaws.com.cn"
  }

  assert {
    condition     = aws_opensearch_domain.this.encrypt_at_rest[0].enabled && aws_opensearch_domain.this.encrypt_at_rest[0].kms_key_id == var.kms_key_arn
    error_message = "The domain must be encrypted at rest with the search key."
  }

  assert {
    condition     = aws_opensearch_domain.this.node_to_node_encryption[0].enabled && aws_opensearch_domain.this.domain_endpoint_options[0].enforce_https
    error_message = "Traffic to and between nodes must be encrypted."
  }

  assert {
    condition     = length(aws_opensearch_domain.this.vpc_options[0].subnet_ids) == 3
    error_message = "The domain must live in the VPC's data subnets."
  }

  assert {
    condition     = aws_opensearch_domain.this.advanced_security_options[0].enabled && !aws_opensearch_domain.this.advanced_security_options[0].internal_user_database_enabled
    error_message = "Fine-grained access control, IAM principals only."
  }

  assert {
    condition     = aws_opensearch_domain.this.cluster_config[0].zone_awareness_enabled
    error_message = "Replicas must be spread over zones."
  }
}

run "only_the_allowed_ports_face_the_world" {
  command = plan

  module {
    source = "./modules/security"
  }

  variables {
    name                 = "t"
    vpc_id               = "vpc-1"
    temporal_self_hosted = true
  }

  assert {
    condition = alltrue([
      for k, r in aws_vpc_security_group_ingress_rule.this :
      r.cidr_ipv4 != "0.0.0.0/0" || contains([
        "tcp/443/443", "udp/40000/49999", "udp/3478/3478", "tcp/3478/3478", "udp/50000/59999",
      ], "${r.ip_protocol}/${r.from_port}/${r.to_port}")
    ])
    error_message = "A rule opens something other than 443 and the live/TURN ports to the world."
  }

  assert {
    condition     = alltrue([for k, r in aws_vpc_security_group_ingress_rule.this : r.cidr_ipv6 == null])
    error_message = "No rule may open anything to all IPv6 addresses."
  }

  assert {
    condition = alltrue([
      for k, r in aws_vpc_security_group_ingress_rule.this :
      r.cidr_ipv4 == null if contains(["db", "tdb", "search", "api", "worker", "temporal"], split("_", k)[0])
    ])
    error_message = "The data tier and the tasks are reachable only from named security groups."
  }

  assert {
    condition     = length([for k, r in aws_vpc_security_group_egress_rule.this : k if contains(["db", "tdb", "search"], k)]) == 0
    error_message = "The data tier has no way out."
  }
}

run "door_is_tls_only_behind_a_waf" {
  command = plan

  module {
    source = "./modules/edge"
  }

  variables {
    name              = "t"
    vpc_id            = "vpc-1"
    public_subnet_ids = ["subnet-a", "subnet-b"]
    security_group_id = "sg-alb"
    certificate_arn   = "arn:aws-cn:acm:cn-north-1:123456789012:certificate/x"
    log_bucket        = "t-logs"
    logs_kms_key_arn  = "arn:aws-cn:kms:cn-north-1:123456789012:key/ops"
  }

  assert {
    condition     = aws_lb_listener.https.port == 443 && aws_lb_listener.https.protocol == "HTTPS"
    error_message = "The only listener is HTTPS on 443."
  }

  assert {
    condition     = startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13-1-2")
    error_message = "TLS 1.2 or newer only."
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields && aws_lb.this.access_logs[0].enabled
    error_message = "The ALB drops invalid headers and logs access."
  }

  assert {
    condition = toset([for r in aws_wafv2_web_acl.this.rule : r.name]) == toset([
      "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
      "AWSManagedRulesAmazonIpReputationList", "rate-per-address",
    ])
    error_message = "The WAF carries the managed rule sets (known bad inputs: Log4j) and the rate limit."
  }

  assert {
    condition = alltrue(flatten([
      for r in aws_wafv2_web_acl.this.rule : [
        for s in r.statement : [
          for m in s.managed_rule_group_statement : [for o in m.rule_action_override : o.name == "SizeRestrictions_BODY"]
        ]
      ]
    ]))
    error_message = "Only the body-size rule is relaxed (STOW-RS uploads); nothing else is overridden."
  }
}

run "media_hosts_are_hardened" {
  command = plan

  module {
    source = "./modules/hosts"
  }

  variables {
    name                = "t"
    region              = "cn-north-1"
    partition           = "aws-cn"
    vpc_cidr            = "10.40.0.0/16"
    ami_id              = "ami-1"
    subnet_ids          = ["subnet-a", "subnet-b"]
    security_group_ids  = { live = "sg-live", turn = "sg-turn" }
    ec2_principal       = "ec2.amazonaws.com.cn"
    live_hosts          = 2
    live_instance_type  = "c6i.xlarge"
    live_control_port   = 8100
    live_udp_ports      = { from = 40000, to = 49999 }
    turn_hosts          = 2
    turn_instance_type  = "c6i.large"
    turn_relay_ports    = { from = 50000, to = 59999 }
    turn_urls           = ["turns:turn.example.cn:443?transport=tcp"]
    live_secret_arn     = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:live"
    turn_secret_arn     = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:turn"
    secrets_kms_key_arn = "arn:aws-cn:kms:cn-north-1:123456789012:key/ops"
    ebs_kms_key_arn     = "arn:aws-cn:kms:cn-north-1:123456789012:key/db"
  }

  assert {
    condition     = alltrue([for h in aws_instance.this : h.metadata_options[0].http_tokens == "required"])
    error_message = "IMDSv2 only."
  }

  assert {
    condition     = alltrue([for h in aws_instance.this : h.root_block_device[0].encrypted])
    error_message = "Host disks (recordings) are encrypted."
  }

  assert {
    condition     = length(distinct([for h in aws_instance.this : h.subnet_id])) == 2
    error_message = "Live and TURN hosts are spread over zones."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.ssm.policy_arn == "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "ARNs must be built from the partition."
  }
}

run "keys_rotate_and_secrets_are_encrypted" {
  command = plan

  module {
    source = "./modules/secrets"
  }

  variables {
    name        = "t"
    kms_key_arn = "arn:aws-cn:kms:cn-north-1:123456789012:key/ops"
  }

  assert {
    condition     = alltrue([for s in aws_secretsmanager_secret.this : s.kms_key_id == var.kms_key_arn])
    error_message = "Every secret is encrypted with the ops key."
  }

  assert {
    condition     = contains(keys(output.env), "YILIAN_JWT_SECRET") && contains(keys(output.env), "YILIAN_DATABASE_URL")
    error_message = "The tasks get their secrets by name from Secrets Manager."
  }
}

run "kms_keys_rotate" {
  command = plan

  module {
    source = "./modules/kms"
  }

  variables {
    name           = "t"
    partition      = "aws-cn"
    ops_principals = ["logs.cn-north-1.amazonaws.com.cn"]
  }

  assert {
    condition     = length(aws_kms_key.this) == 4 && alltrue([for k in aws_kms_key.this : k.enable_key_rotation])
    error_message = "One rotating key per kind of data."
  }
}

run "alarms_watch_sla_backlog_and_errors" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    name                    = "t"
    account_id              = "123456789012"
    kms_key_arn             = "arn:aws-cn:kms:cn-north-1:123456789012:key/ops"
    alb_arn_suffix          = "app/t/0123456789abcdef"
    target_group_arn_suffix = "targetgroup/api/0123456789abcdef"
    db_clusters             = { app = "t-app" }
    search_domain           = "t-search"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.app["sla-breached"].metric_name == "yilian_referrals_sla" &&
      aws_cloudwatch_metric_alarm.app["sla-breached"].dimensions.sla == "breached" &&
      aws_cloudwatch_metric_alarm.app["sla-breached"].threshold == 0
    )
    error_message = "One breached SLA raises the alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.app["activity-backlog"].metric_name == "yilian_temporal_task_queue_backlog"
    error_message = "The Temporal backlog is watched."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.alb_5xx_rate.threshold == 1
    error_message = "A 5xx rate above 1% raises the alarm."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.app : length(a.alarm_actions) == 1])
    error_message = "Every alarm notifies the topic."
  }

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == var.kms_key_arn
    error_message = "The alarm topic is encrypted."
  }
}
