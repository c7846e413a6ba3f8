# Hosts with public addresses for what browsers reach over UDP: the live media processes (`yilian live`, one
# per vCPU: each is one asyncio loop) and coturn (TURN over TLS on 443 for hospitals that allow only 443 out).
# Each host has an Elastic IP, so the ICE candidates it announces and the TURN names in DNS stay put across
# restarts. Fargate is not used here: WebRTC wants host networking and thousands of UDP ports.
locals {
  live_ports = [for i in range(var.live_processes_per_host) : var.live_control_port + i]

  live_user_data = <<-EOT
    #!/bin/sh
    set -eu
    # aioice takes ephemeral ports; pin them to the range the security group opens.
    sysctl -w net.ipv4.ip_local_port_range="${var.live_udp_ports.from} ${var.live_udp_ports.to}"
    secret() { aws --region ${var.region} secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text; }
    cat > /etc/yilian/live.env <<ENV
    YILIAN_LIVE_SECRET=$(secret ${var.live_secret_arn})
    YILIAN_LIVE_TURN_SECRET=$(secret ${var.turn_secret_arn})
    YILIAN_LIVE_TURN_URLS=${jsonencode(var.turn_urls)}
    ENV
    for port in ${join(" ", local.live_ports)}; do systemctl enable --now "yilian-live@$port"; done
  EOT

  turn_user_data = <<-EOT
    #!/bin/sh
    set -eu
    secret=$(aws --region ${var.region} secretsmanager get-secret-value --secret-id ${var.turn_secret_arn} --query SecretString --output text)
    cat > /etc/turnserver.conf <<CONF
    listening-port=3478
    tls-listening-port=443
    min-port=${var.turn_relay_ports.from}
    max-port=${var.turn_relay_ports.to}
    cert=/etc/ssl/turn.pem
    pkey=/etc/ssl/turn.key
    use-auth-secret
    static-auth-secret=$secret
    realm=yilian
    no-multicast-peers
    no-cli
    denied-peer-ip=0.0.0.0-0.255.255.255
    denied-peer-ip=127.0.0.0-127.255.255.255
    denied-peer-ip=169.254.0.0-169.254.255.255
    allowed-peer-ip=${cidrhost(var.vpc_cidr, 0)}-${cidrhost(var.vpc_cidr, -1)}
    CONF
    systemctl enable --now coturn
  EOT

  hosts = merge(
    { for i in range(var.live_hosts) : "live-${i}" => { kind = "live", index = i, type = var.live_instance_type } },
    { for i in range(var.turn_hosts) : "turn-${i}" => { kind = "turn", index = i, type = var.turn_instance_type } },
  )
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [var.ec2_principal]
    }
  }
}

resource "aws_iam_role" "host" {
  name_prefix        = "${var.name}-media-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "host" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.live_secret_arn, var.turn_secret_arn]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "host" {
  role   = aws_iam_role.host.id
  policy = data.aws_iam_policy_document.host.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  # Operators reach the hosts through Session Manager; no SSH port is open.
  role       = aws_iam_role.host.name
  policy_arn = "arn:${var.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "host" {
  name_prefix = "${var.name}-media-"
  role        = aws_iam_role.host.name
}

resource "aws_instance" "this" {
  #checkov:skip=CKV_AWS_88:Browsers send WebRTC media (UDP) straight to these hosts, and TURN must be reachable on 443; that needs public addresses. Only the media/TURN ports are open (modules/security).
  for_each               = local.hosts
  ami                    = var.ami_id
  instance_type          = each.value.type
  subnet_id              = var.subnet_ids[each.value.index % length(var.subnet_ids)]
  vpc_security_group_ids = [var.security_group_ids[each.value.kind]]
  iam_instance_profile   = aws_iam_instance_profile.host.name
  user_data              = each.value.kind == "live" ? local.live_user_data : local.turn_user_data
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted   = true
    kms_key_id  = var.ebs_kms_key_arn
    volume_type = "gp3"
    # Recordings are written here before they move to the image bucket.
    volume_size = each.value.kind == "live" ? 100 : 20
  }

  tags = { Name = "${var.name}-${each.key}", Role = each.value.kind }
}

resource "aws_eip" "this" {
  for_each = local.hosts
  domain   = "vpc"
  instance = aws_instance.this[each.key].id
  tags     = { Name = "${var.name}-${each.key}" }
}
