/* Shared between the link test programs and the tests. */
#pragma once

#define LINKS_UDP_PORT 4343
#define LINKS_ORDER_MAX 8
#define LINKS_TAG_A 0xa
#define LINKS_TAG_B 0xb
#define LINKS_TAG_C 0xc
#define LINKS_TAG_DROP 0xd
/* Netfilter: datagrams of this IP length are dropped. */
#define NF_DROP_IP_LEN 228
