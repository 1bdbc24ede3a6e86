#!/bin/bash
# User data template for a SIPMediaGW gateway instance (the `ec2` and
# `command` providers read it through provider.user_data_template).
# Every name in double braces is a placeholder, comments included: role,
# sip_registrar and gateway_prefix come from [provider.user_data_vars]; pool
# and instance_name are filled in by scaler. An undefined placeholder is a
# configuration error, so this script never boots with a hole in it.
set -euo pipefail
hostnamectl set-hostname "{{instance_name}}"
mkdir -p /etc/sipmediagw
cat > /etc/sipmediagw/role.env <<CONF
POOL={{pool}}
ROLE={{role}}
SIP_REGISTRAR={{sip_registrar}}
GATEWAY_PREFIX={{gateway_prefix}}
CONF
systemctl enable --now sipmediagw.service
