/* The Kafka producer (io/kafka.c) against librdkafka's mock cluster, in this process: records
 * acknowledged, by declared topic and by name; a record too large refused at once; a broker's
 * permanent error not retryable, a transient one retried inside librdkafka; a record that times
 * out retryable; flush returning what is left and destroy ending it. Linked with the shim's
 * objects; this thread marks itself the shim's own so its sockets are not traced. */
#include "../../io/kafka.h"
#include "../../preload/config.h"
#include "../../preload/thread.h"
#include "check.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRODUCE_API 0 /* the Kafka protocol's ApiKey of Produce */

struct outcome {
	int calls, err;
	bool retryable;
};

static void done(void *arg, int err, bool retryable, const char *why)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
	o->retryable = retryable;
	CHECK(err == 0 ? why == NULL : why != NULL);
}

/* Polls (as the reporter does) until nothing is outstanding, up to ten seconds. */
static size_t settle(struct rs_kafka *k)
{
	size_t left = rs_kafka_poll(k);
	for (int i = 0; i < 2000 && left; i++) {
		nanosleep(&(struct timespec){0, 5000000}, NULL);
		left = rs_kafka_poll(k);
	}
	return left;
}

static int produce(struct rs_kafka *k, const char *topic, struct outcome *o)
{
	static const char value[] = "not a protobuf message, which Kafka does not mind";
	return rs_kafka_produce(k, topic, NULL, 0, value, sizeof(value), done, o);
}

int main(void)
{
	rs_thread_set_internal();
	/* message.timeout.ms: short, for the leader-away case below, but not so short that the
	 * first records (metadata, then connections to the mock brokers) miss it: at 500 ms one of
	 * them timed out in a CI run. */
	char *env[] = {"OTEL_EXPORTER_OTLP_TIMEOUT=2000", "RINGSIDE_LOG_LEVEL=error", NULL};
	CHECK_EQ_U(rs_config_parse(&rs_cfg, env, NULL, NULL), 0);

	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 3) : NULL;
	if (!mc) {
		fprintf(stderr, "no mock cluster: %s\n", err);
		return 1;
	}
	CHECK_EQ_U(rd_kafka_mock_topic_create(mc, "t1", 1, 3), 0);
	CHECK_EQ_U(rd_kafka_mock_partition_set_leader(mc, "t1", 0, 1), 0);
	CHECK_EQ_U(rd_kafka_mock_topic_create(mc, "t3", 1, 3), 0);
	struct rs_kafka *k =
	    rs_kafka_new(rd_kafka_mock_cluster_bootstraps(mc), "test producer", NULL, NULL);
	CHECK(k != NULL);
	if (!k)
		return check_result();
	CHECK_EQ_U(rs_kafka_next_poll_ns(k), UINT64_MAX);
	CHECK_EQ_U(rs_kafka_declare(k, "t1"), 0);
	CHECK_EQ_U(rs_kafka_declare(k, "t1"), 0); /* again: the same handle */
	CHECK_EQ_U(rs_kafka_declare(k, "t3"), 0);

	/* Acknowledged: three to the declared topic, one to a topic known only by name. */
	struct outcome ok[4] = {0};
	for (int i = 0; i < 3; i++)
		CHECK_EQ_U(produce(k, "t1", &ok[i]), 0);
	CHECK_EQ_U(produce(k, "t2", &ok[3]), 0);
	CHECK(rs_kafka_next_poll_ns(k) < 1000000000ull);
	CHECK_EQ_U(settle(k), 0);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_U(ok[i].calls, 1);
		CHECK_EQ_U(ok[i].err, 0);
	}
	CHECK_EQ_U(rs_kafka_next_poll_ns(k), UINT64_MAX);

	/* Too large for message.max.bytes: refused at once, done never called. */
	size_t big = 9u << 20;
	char *huge = calloc(1, big);
	struct outcome none = {0};
	CHECK_EQ_U(rs_kafka_produce(k, "t1", "key", 3, huge, big, done, &none), -EMSGSIZE);
	free(huge);

	/* A transient broker error is retried by librdkafka; a permanent one ends the record. */
	struct outcome transient = {0}, denied = {0};
	rd_kafka_mock_push_request_errors(mc, PRODUCE_API, 1,
					  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
	CHECK_EQ_U(produce(k, "t1", &transient), 0);
	CHECK_EQ_U(settle(k), 0);
	CHECK_EQ_U(transient.calls, 1);
	CHECK_EQ_U(transient.err, 0);
	rd_kafka_mock_push_request_errors(mc, PRODUCE_API, 1,
					  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	CHECK_EQ_U(produce(k, "t3", &denied), 0);
	CHECK_EQ_U(settle(k), 0);
	CHECK_EQ_U(denied.calls, 1);
	CHECK_EQ_U(denied.err, -EACCES);
	CHECK(!denied.retryable);
	/* librdkafka remembers the topic's error: the next record is refused at once. */
	CHECK_EQ_U(produce(k, "t3", &none), -EACCES);
	CHECK_EQ_U(none.calls, 0);

	/* The leader away: the record times out (message.timeout.ms, OTEL_EXPORTER_OTLP_TIMEOUT),
	 * retryable. */
	struct outcome late = {0};
	CHECK_EQ_U(rd_kafka_mock_broker_set_down(mc, 1), 0);
	CHECK_EQ_U(produce(k, "t1", &late), 0);
	CHECK_EQ_U(settle(k), 0);
	CHECK_EQ_U(late.calls, 1);
	CHECK_EQ_U(late.err, -ETIMEDOUT);
	CHECK(late.retryable);

	/* Flush gives up after its timeout and says what is left; destroy ends those records. */
	struct outcome left[2] = {0};
	CHECK_EQ_U(produce(k, "t1", &left[0]), 0);
	CHECK_EQ_U(produce(k, "t1", &left[1]), 0);
	CHECK_EQ_U(rs_kafka_flush(k, 50), 2);
	CHECK_EQ_U(left[0].calls + left[1].calls, 0);
	rs_kafka_destroy(k);
	/* A CA file librdkafka cannot load: no producer, and no crash in librdkafka's failure path
	 * (it frees parts of the configuration it was given). */
	CHECK(rs_kafka_new(rd_kafka_mock_cluster_bootstraps(mc), "bad CA",
			   "security.protocol\0ssl\0ssl.ca.location\0/nonexistent/ca.pem\0",
			   "TEST_PROPS") == NULL);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_U(left[i].calls, 1);
		CHECK_EQ_U(left[i].err, -ECANCELED);
		CHECK(left[i].retryable);
	}

	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return check_result();
}
