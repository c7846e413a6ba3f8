# The stateless processes on ECS Fargate in the app subnets: `yilian api` behind the ALB, `yilian worker`
# (Temporal workers: activities and workflows), and, when self-hosted, the Temporal service split by role so
# that history (the one that owns the shards) scales on its own.
locals {
  log_group = aws_cloudwatch_log_group.tasks.name

  yilian_env = [for k, v in merge(var.environment_vars, {
    YILIAN_STORAGE_URL        = "s3://${var.images_bucket}/instances"
    YILIAN_OPENSEARCH_URL     = "https://${var.search_endpoint}"
    YILIAN_TEMPORAL_ADDRESS   = var.temporal_address
    YILIAN_TEMPORAL_NAMESPACE = var.temporal_namespace
    AWS_REGION                = var.region
    YILIAN_LIVE_URLS          = jsonencode(var.live_urls)
    YILIAN_LIVE_TURN_URLS     = jsonencode(var.turn_urls)
  }) : { name = k, value = v }]

  yilian_secrets = [for env, arn in var.secret_env : { name = env, valueFrom = arn }]

  temporal_roles = var.temporal_self_hosted ? {
    frontend = { cpu = 1024, memory = 2048, count = 2 }
    history  = { cpu = 2048, memory = 8192, count = var.temporal_history_tasks }
    matching = { cpu = 1024, memory = 2048, count = 2 }
    worker   = { cpu = 512, memory = 1024, count = 1 }
  } : {}
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "tasks" {
  name              = "/yilian/${var.name}/tasks"
  retention_in_days = 400
  kms_key_id        = var.logs_kms_key_arn
}

# --- roles ---------------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [var.ecs_tasks_principal]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat(values(var.secret_env), var.temporal_db_secret_arn == "" ? [] : [var.temporal_db_secret_arn])
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = var.secret_kms_key_arns
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "task" {
  for_each           = toset(["api", "worker", "temporal"])
  name_prefix        = "${var.name}-${each.key}-"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

# api and worker read and write image objects (create-only: the app sends If-None-Match), set per-object
# retention and legal holds (the retention policy), and use the search domain. No s3:DeleteObject* is needed
# beyond what Object Lock allows anyway: the compliance lock refuses deletes before expiry for everyone.
data "aws_iam_policy_document" "app" {
  statement {
    actions = [
      "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
      "s3:GetObjectRetention", "s3:PutObjectRetention", "s3:GetObjectLegalHold", "s3:PutObjectLegalHold",
    ]
    resources = ["${var.images_bucket_arn}/*"]
  }
  statement {
    actions   = ["s3:ListBucket"]
    resources = [var.images_bucket_arn]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.images_kms_key_arn]
  }
  statement {
    actions   = ["es:ESHttp*"]
    resources = ["arn:${var.partition}:es:${var.region}:${var.account_id}:domain/${var.search_domain}/*"]
  }
}

resource "aws_iam_role_policy" "app" {
  for_each = toset(["api", "worker"])
  role     = aws_iam_role.task[each.key].id
  policy   = data.aws_iam_policy_document.app.json
}

# --- yilian api / worker -------------------------------------------------------------------------------------
resource "aws_ecs_task_definition" "yilian" {
  #checkov:skip=CKV_AWS_336:Ingest spools multipart uploads and the worker writes de-identified copies to a temp directory before they go to S3; the root filesystem stays writable, and tasks are replaced, never patched.
  for_each                 = { api = ["yilian", "api", "--host", "0.0.0.0", "--port", tostring(var.api_port)], worker = ["yilian", "worker"] }
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.key == "api" ? 1024 : 2048
  memory                   = each.key == "api" ? 2048 : 4096
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn

  container_definitions = jsonencode([{
    name         = each.key
    image        = var.yilian_image
    command      = each.value
    essential    = true
    environment  = local.yilian_env
    secrets      = local.yilian_secrets
    portMappings = each.key == "api" ? [{ containerPort = var.api_port, protocol = "tcp" }] : []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "api" {
  name            = "api"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.yilian["api"].arn
  desired_count   = var.api_replicas
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_ids.api]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.api_target_group_arn
    container_name   = "api"
    container_port   = var.api_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.yilian["worker"].arn
  desired_count   = var.worker_replicas
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_ids.worker]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

# --- Temporal (self-hosted) ----------------------------------------------------------------------------------
resource "aws_service_discovery_private_dns_namespace" "this" {
  count = var.temporal_self_hosted ? 1 : 0
  name  = "${var.name}.yilian.internal"
  vpc   = var.vpc_id
}

resource "aws_service_discovery_service" "temporal" {
  for_each = local.temporal_roles
  name     = "temporal-${each.key}"
  dns_config {
    namespace_id = aws_service_discovery_private_dns_namespace.this[0].id
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
}

resource "aws_ecs_task_definition" "temporal" {
  #checkov:skip=CKV_AWS_336:The temporalio/server entrypoint renders its config file from the environment at start, into the image's config directory.
  for_each                 = local.temporal_roles
  family                   = "${var.name}-temporal-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task["temporal"].arn

  container_definitions = jsonencode([{
    name      = "temporal-${each.key}"
    image     = var.temporal_image
    essential = true
    environment = [for k, v in {
      SERVICES = each.key
      DB       = "postgres12"
      DB_PORT  = "5432"
      # Fixed for the life of the cluster: see docs/deploy.md ("Temporal history shards").
      NUM_HISTORY_SHARDS      = tostring(var.temporal_history_shards)
      POSTGRES_SEEDS          = var.temporal_db_endpoint
      POSTGRES_USER           = "yilian_admin"
      DBNAME                  = "temporal"
      VISIBILITY_DBNAME       = "temporal_visibility"
      SQL_TLS_ENABLED         = "true"
      PUBLIC_FRONTEND_ADDRESS = "temporal-frontend.${var.name}.yilian.internal:7233"
    } : { name = k, value = v }]
    secrets = [{ name = "POSTGRES_PWD", valueFrom = "${var.temporal_db_secret_arn}:password::" }]
    portMappings = [
      { containerPort = 7233, protocol = "tcp" },
      { containerPort = 6933, protocol = "tcp" },
      { containerPort = 6934, protocol = "tcp" },
      { containerPort = 6935, protocol = "tcp" },
      { containerPort = 6939, protocol = "tcp" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group
        awslogs-region        = var.region
        awslogs-stream-prefix = "temporal-${each.key}"
      }
    }
  }])
}

resource "aws_ecs_service" "temporal" {
  for_each        = local.temporal_roles
  name            = "temporal-${each.key}"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.temporal[each.key].arn
  desired_count   = each.value.count
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_ids.temporal]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.temporal[each.key].arn
  }
}
