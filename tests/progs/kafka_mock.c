/* A Kafka cluster for the exporters' tests: librdkafka's own mock cluster (rdkafka_mock.h), so the
 * brokers speak the protocol as librdkafka's authors implemented it, not as ringside reads it.
 *   kafka_mock [--brokers N] [--partitions P] [--leader B] [--topic NAME]...
 * Creates each topic with P partitions (default 3), all led by broker B when given (a test that
 * takes broker 1 down knows then which records wait for it), prints `bootstrap=HOST:PORT,...` on
 * stdout once the brokers listen, and runs until SIGTERM or SIGINT. SIGUSR1 takes broker 1 down
 * (its connections drop and new ones are refused; no leader moves), SIGUSR2 brings it back up; each
 * change is confirmed on stdout as `broker 1 down` / `broker 1 up`. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 64

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: kafka_mock [--brokers N] [--partitions P] [--leader B] [--topic NAME]...\n");
	exit(2);
}

static int parse_count(const char *s, int max)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > max)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	int brokers = 3, partitions = 3, leader = 0, ntopics = 0;
	const char *topics[MAX_TOPICS];

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--brokers") == 0)
			brokers = parse_count(argv[++i], 64);
		else if (strcmp(argv[i], "--partitions") == 0)
			partitions = parse_count(argv[++i], 1024);
		else if (strcmp(argv[i], "--leader") == 0)
			leader = parse_count(argv[++i], 64);
		else if (strcmp(argv[i], "--topic") == 0 && ntopics < MAX_TOPICS)
			topics[ntopics++] = argv[++i];
		else
			usage();
	}
	if (leader > brokers)
		usage();

	/* Blocked before librdkafka starts its threads, which inherit the mask: the signals are
	 * then taken only by sigwaitinfo() below, never by a broker thread mid-operation. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The handle only keeps the cluster's books; it never connects, so keep it quiet about
	 * having no bootstrap servers. */
	if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", err);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: could not create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	int replicas = brokers < 3 ? brokers : 3;
	for (int i = 0; i < ntopics; i++) {
		rd_kafka_resp_err_t e =
		    rd_kafka_mock_topic_create(mc, topics[i], partitions, replicas);
		for (int p = 0; !e && leader && p < partitions; p++)
			e = rd_kafka_mock_partition_set_leader(mc, topics[i], p, leader);
		if (e) {
			fprintf(stderr, "kafka_mock: topic %s: %s\n", topics[i],
				rd_kafka_err2str(e));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig == SIGUSR1 || sig == SIGUSR2) {
			rd_kafka_resp_err_t e = sig == SIGUSR1
						    ? rd_kafka_mock_broker_set_down(mc, 1)
						    : rd_kafka_mock_broker_set_up(mc, 1);
			if (e)
				fprintf(stderr, "kafka_mock: broker 1: %s\n", rd_kafka_err2str(e));
			else
				printf("broker 1 %s\n", sig == SIGUSR1 ? "down" : "up");
			fflush(stdout);
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			break;
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
