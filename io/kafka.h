/* A Kafka producer for the reporter, on librdkafka (loaded with dlopen when first needed, so a
 * process that never exports to Kafka never maps it). librdkafka's own threads and sockets are
 * the shim's: they are marked internal and never traced. Delivery reports come back on the
 * reporter thread, from rs_kafka_poll. */
#ifndef RS_IO_KAFKA_H
#define RS_IO_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How one record ended: 0 when the broker acknowledged it, else -errno-like (-ETIMEDOUT when
 * message.timeout.ms passed, -EMSGSIZE, -ENOENT for an unknown topic, -EACCES when not
 * authorized, -ECANCELED when rs_kafka_destroy ended it, -EIO for other broker errors); why names
 * librdkafka's error. retryable: a later attempt may succeed (a timeout, a broker away, a leader
 * moving), as opposed to a record, topic or credentials the cluster refuses. */
typedef void (*rs_kafka_done_fn)(void *arg, int err, bool retryable, const char *why);

struct rs_kafka; /* opaque */

/* A producer for brokers ("host:port,host:port"). what names it in stderr lines ("Kafka
 * exporter"). NULL after one stderr line saying why (librdkafka missing, bad brokers). Call it on
 * the reporter thread. Settings from the configuration: a record waits for a broker at most
 * OTEL_EXPORTER_OTLP_TIMEOUT (message.timeout.ms), librdkafka's queue holds RINGSIDE_QUEUE_MB,
 * its log level follows RINGSIDE_LOG_LEVEL; lz4 compression, linger 5 ms, records up to 8 MiB. */
/* props: the user's producer properties, decoded (json_props.h; NULL or "" for none), applied
 * over the shim's own; one librdkafka refuses, or that the shim keeps for itself (kafka.c lists
 * which and why), costs one stderr line naming props_var and the property, and is skipped. The
 * values of properties named for passwords, secrets, keys, tokens or configs are never shown. */
struct rs_kafka *rs_kafka_new(const char *brokers, const char *what, const char *props,
			      const char *props_var);

/* Optional, before the first record: a topic the producer will write to, so that its leaders
 * are looked up now. Without it librdkafka looks a topic up on its first record, and it asks for
 * new topics' metadata at most about once a second: a record produced first at exit could wait
 * longer than the exit flush. 0, or -errno (-ENOSPC past 8 topics: they still work by name). */
int rs_kafka_declare(struct rs_kafka *k, const char *topic);

/* Queues one record (value copied by librdkafka); key may be NULL. 0, or -errno when librdkafka
 * refuses it at once, and then done is not called: -ENOBUFS (its queue is full), -EMSGSIZE,
 * -ENOENT, -EACCES, -EINVAL (no later attempt helps), -EIO. */
int rs_kafka_produce(struct rs_kafka *k, const char *topic, const void *key, size_t keylen,
		     const void *value, size_t len, rs_kafka_done_fn done, void *arg);

/* Serves delivery reports (runs the done callbacks) without blocking. Returns the records still
 * waiting for theirs. */
size_t rs_kafka_poll(struct rs_kafka *k);

/* At exit: waits up to timeout_ms for outstanding records (rd_kafka_flush); returns those left. */
size_t rs_kafka_flush(struct rs_kafka *k, unsigned timeout_ms);

/* Nanoseconds until rs_kafka_poll should next run while records are outstanding (librdkafka
 * has no fd to wait on here: the reporter polls on a short timer), UINT64_MAX when none are. */
uint64_t rs_kafka_next_poll_ns(const struct rs_kafka *k);

/* Ends what is outstanding (each done gets -ECANCELED, retryable), then stops librdkafka. */
void rs_kafka_destroy(struct rs_kafka *k);

/* In a fork child: librdkafka's threads did not survive; forget the handle without touching it. */
void rs_kafka_forget(struct rs_kafka *k);

#endif
