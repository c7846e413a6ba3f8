output "topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.app : a.alarm_name],
    [aws_cloudwatch_metric_alarm.alb_5xx_rate.alarm_name, aws_cloudwatch_metric_alarm.alb_latency.alarm_name],
  )
}
