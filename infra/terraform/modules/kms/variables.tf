variable "name" {
  type = string
}

variable "partition" {
  type = string
}

variable "ops_principals" {
  description = "Service principals (CloudWatch Logs, CloudWatch) that use the ops key, in this partition."
  type        = list(string)
}

variable "purposes" {
  type    = list(string)
  default = ["images", "database", "search", "ops"]
}
