# What pages the on-call: reading SLAs breached or about to be, work piling up in Temporal's task queues, and
# error rates at the door, in the database and in search. The application's own figures (SLA counts, queue
# depth) come from its Prometheus /metrics, shipped into the CloudWatch namespace var.app_namespace by the
# CloudWatch agent's Prometheus scrape (docs/deploy.md, "Metrics and alarms").
resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.email
}

locals {
  actions = [aws_sns_topic.alarms.arn]

  # The worker's gauges (yilian_referrals_sla, yilian_temporal_task_queue_backlog), with the agent keeping the
  # sla / kind label as the dimension (docs/deploy.md has the agent's metric_declaration).
  app = {
    sla-breached = {
      metric     = "yilian_referrals_sla"
      dimensions = { sla = "breached" }
      threshold  = 0
      period     = 60
      what       = "A reading passed its SLA deadline."
    }
    sla-at-risk = {
      metric     = "yilian_referrals_sla"
      dimensions = { sla = "at_risk" }
      threshold  = var.sla_at_risk_threshold
      period     = 300
      what       = "Many readings are close to their SLA deadline: readers are short."
    }
    activity-backlog = {
      metric     = "yilian_temporal_task_queue_backlog"
      dimensions = { kind = "activity" }
      threshold  = var.queue_backlog_threshold
      period     = 300
      what       = "Temporal activity backlog: workers do not keep up (add worker replicas)."
    }
    workflow-backlog = {
      metric     = "yilian_temporal_task_queue_backlog"
      dimensions = { kind = "workflow" }
      threshold  = var.queue_backlog_threshold
      period     = 300
      what       = "Temporal workflow-task backlog: workers do not keep up (add worker replicas)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "app" {
  for_each            = local.app
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.what
  namespace           = var.app_namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Maximum"
  period              = each.value.period
  evaluation_periods  = 2
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  # No figures at all means the scrape or the processes are down: that is an alarm too.
  treat_missing_data = "breaching"
  alarm_actions      = local.actions
  ok_actions         = local.actions
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx_rate" {
  alarm_name          = "${var.name}-alb-5xx-rate"
  alarm_description   = "More than 1% of requests answered 5xx (load balancer or targets)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 1
  evaluation_periods  = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    expression  = "100 * (FILL(e5, 0) + FILL(t5, 0)) / MAX([req, 1])"
    label       = "5xx %"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = { req = "RequestCount", e5 = "HTTPCode_ELB_5XX_Count", t5 = "HTTPCode_Target_5XX_Count" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        period      = 60
        stat        = "Sum"
        dimensions  = { LoadBalancer = var.alb_arn_suffix }
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alb_latency" {
  alarm_name          = "${var.name}-api-p95-latency"
  alarm_description   = "API p95 above 1 s (the worklist, dashboard and search budget)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanThreshold"
  dimensions          = { LoadBalancer = var.alb_arn_suffix }
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_api" {
  alarm_name          = "${var.name}-api-unhealthy"
  alarm_description   = "An API task fails its health check."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db" {
  for_each = merge(
    { for k, id in var.db_clusters : "${k}-cpu" => { id = id, metric = "CPUUtilization", threshold = 80, op = "GreaterThanThreshold" } },
    { for k, id in var.db_clusters : "${k}-lag" => { id = id, metric = "AuroraReplicaLagMaximum", threshold = 2000, op = "GreaterThanThreshold" } },
  )
  alarm_name          = "${var.name}-db-${each.key}"
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = each.value.threshold
  comparison_operator = each.value.op
  dimensions          = { DBClusterIdentifier = each.value.id }
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "search" {
  for_each = {
    red      = { metric = "ClusterStatus.red", stat = "Maximum", threshold = 0, op = "GreaterThanThreshold" }
    jvm      = { metric = "JVMMemoryPressure", stat = "Maximum", threshold = 85, op = "GreaterThanThreshold" }
    storage  = { metric = "FreeStorageSpace", stat = "Minimum", threshold = 20480, op = "LessThanThreshold" }
    rejected = { metric = "ThreadpoolWriteRejected", stat = "Sum", threshold = 0, op = "GreaterThanThreshold" }
  }
  alarm_name          = "${var.name}-search-${each.key}"
  namespace           = "AWS/ES"
  metric_name         = each.value.metric
  statistic           = each.value.stat
  period              = 300
  evaluation_periods  = 2
  threshold           = each.value.threshold
  comparison_operator = each.value.op
  dimensions          = { DomainName = var.search_domain, ClientId = var.account_id }
  alarm_actions       = local.actions
  ok_actions          = local.actions
}
