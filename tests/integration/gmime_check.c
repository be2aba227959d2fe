/*
 * gmime_check.c - test helper: does GMime read a message back? (test_corpus.sh compiles it)
 * usage: gmime_check FILE ; exit 0 and prints the number of leaf parts if GMime parses a
 * message with a header block; exit 1 otherwise. Memory: all freed before exit. Single thread.
 */
#include <stdio.h>
#include <gmime/gmime.h>

static void count_leaf(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	(void)parent;
	if (!GMIME_IS_MULTIPART(part) && !GMIME_IS_MESSAGE_PART(part))
		(*(int *)data)++;
}

int main(int argc, char **argv)
{
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	int leaves = 0, rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: gmime_check FILE\n");
		return 2;
	}
	g_mime_init();
	stream = g_mime_stream_file_open(argv[1], "r", NULL);
	if (!stream) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		goto out;
	}
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (!msg || !g_mime_message_get_mime_part(msg)) {
		fprintf(stderr, "GMime: no message in %s\n", argv[1]);
		goto out;
	}
	g_mime_message_foreach(msg, count_leaf, &leaves);
	printf("%d\n", leaves);
	rc = 0;
out:
	if (msg)
		g_object_unref(msg);
	if (parser)
		g_object_unref(parser);
	if (stream)
		g_object_unref(stream);
	g_mime_shutdown();
	return rc;
}
