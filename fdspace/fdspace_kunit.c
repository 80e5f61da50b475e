// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "fdspace", on a files_struct of the test's own (dup_fd()
 * of the kthread's table, private descriptors installed with
 * fdspace_alloc_install()):
 *
 * - iterate_fd() visits private descriptors, resumes after one, and
 *   hands the callback a file it may use. Its users are __do_SAK()
 *   (needs a VT: the test kernel has none), the net_cls/netprio cgroups
 *   (CONFIG_CGROUP_NET_CLASSID/PRIO are off) and the SELinux/AppArmor
 *   flush at exec (which runs after exec closed the private space):
 *   nothing the test kernel's user space can observe, hence KUnit.
 * - The RLIMIT_NOFILE count shared by linear and private descriptors
 *   (fdspace_charge() is what alloc_fd() and do_dup2() call);
 *   tests/fdspace_test.c checks the same through system calls.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/err.h>
#include <linux/fdspace.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>

#define NFILES	3

static const struct file_operations fdspace_kunit_fops = { };

struct fixture {
	struct files_struct *files;
	struct file *file[NFILES];
	int fd[NFILES];
};

/* What the callbacks saw of the private space. */
struct visits {
	struct fixture *fx;
	unsigned int fd[16];
	int n;
	bool bad;	/* a descriptor not installed, or the wrong file */
};

static int fdspace_kunit_init(struct kunit *test)
{
	struct fixture *fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, fx);
	test->priv = fx;
	fx->files = dup_fd(current->files, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(fx->files));
	for (i = 0; i < NFILES; i++) {
		fx->file[i] = anon_inode_getfile("[fdspace-kunit]",
						 &fdspace_kunit_fops, NULL,
						 O_RDONLY);
		KUNIT_ASSERT_FALSE(test, IS_ERR(fx->file[i]));
		fx->fd[i] = fdspace_alloc_install(&fx->files->fdspace,
						  get_file(fx->file[i]), 1024);
		KUNIT_ASSERT_GT(test, fx->fd[i], NONLINEAR_FD);
	}
	return 0;
}

static void fdspace_kunit_exit(struct kunit *test)
{
	struct fixture *fx = test->priv;
	int i;

	if (!fx)
		return;
	if (!IS_ERR_OR_NULL(fx->files))
		put_files_struct(fx->files);	/* closes the private fds */
	for (i = 0; i < NFILES; i++)
		if (!IS_ERR_OR_NULL(fx->file[i]))
			fput(fx->file[i]);
}

/* The index of the installed descriptor fd, or -1. */
static int which(struct fixture *fx, unsigned int fd)
{
	int i;

	for (i = 0; i < NFILES; i++)
		if ((unsigned int)fx->fd[i] == fd)
			return i;
	return -1;
}

static int record(const void *p, struct file *file, unsigned int fd)
{
	struct visits *v = (struct visits *)p;
	int k;

	if (!(fd & NONLINEAR_FD))
		return 0;	/* a linear one dup_fd() copied */
	k = which(v->fx, fd);
	if (k < 0 || v->fx->file[k] != file)
		v->bad = true;
	if (v->n < (int)ARRAY_SIZE(v->fd))
		v->fd[v->n++] = fd;
	return 0;
}

/* Like this_tty() in __do_SAK(): the descriptor of one file, plus one. */
static int match(const void *p, struct file *file, unsigned int fd)
{
	return file == p ? (int)(fd + 1) : 0;
}

/* Like the net_cls update in batches: stop after every descriptor. */
static int stop_each(const void *p, struct file *file, unsigned int fd)
{
	record(p, file, fd);
	return (int)(fd + 1);
}

/* Each installed descriptor seen exactly once. */
static void expect_each_once(struct kunit *test, struct visits *v)
{
	int seen[NFILES] = { 0 }, i, k;

	KUNIT_EXPECT_EQ(test, v->n, NFILES);
	KUNIT_EXPECT_FALSE(test, v->bad);
	for (i = 0; i < v->n; i++) {
		k = which(v->fx, v->fd[i]);
		if (k >= 0)
			seen[k]++;
	}
	for (k = 0; k < NFILES; k++)
		KUNIT_EXPECT_EQ(test, seen[k], 1);
}

static void iterate_fd_visits_private_fds(struct kunit *test)
{
	struct fixture *fx = test->priv;
	struct visits v = { .fx = fx };

	KUNIT_EXPECT_EQ(test, iterate_fd(fx->files, 0, record, &v), 0);
	expect_each_once(test, &v);
	/* NONLINEAR_FD + 1, the lowest private number: the whole space. */
	v = (struct visits){ .fx = fx };
	KUNIT_EXPECT_EQ(test, iterate_fd(fx->files, NONLINEAR_FD + 1, record, &v), 0);
	expect_each_once(test, &v);
}

static void iterate_fd_finds_a_private_fd(struct kunit *test)
{
	struct fixture *fx = test->priv;
	int i;

	for (i = 0; i < NFILES; i++)
		KUNIT_EXPECT_EQ(test, iterate_fd(fx->files, 0, match, fx->file[i]),
				(int)(fx->fd[i] + 1U));
}

static void iterate_fd_resumes_after_a_private_fd(struct kunit *test)
{
	struct fixture *fx = test->priv;
	struct visits v = { .fx = fx };
	unsigned int n = 0;
	int rounds = 0;

	/* At most one round per descriptor, and one that finds none. */
	do {
		n = iterate_fd(fx->files, n, stop_each, &v);
	} while (n && ++rounds <= NFILES);
	KUNIT_EXPECT_EQ(test, n, 0U);
	expect_each_once(test, &v);
}

static void iterate_fd_skips_closed_private_fds(struct kunit *test)
{
	struct fixture *fx = test->priv;
	struct visits v = { .fx = fx };
	struct file *file = fdspace_close(&fx->files->fdspace, fx->fd[1]);

	KUNIT_ASSERT_PTR_EQ(test, file, fx->file[1]);
	fput(file);
	KUNIT_EXPECT_EQ(test, iterate_fd(fx->files, 0, match, fx->file[1]), 0);
	KUNIT_EXPECT_EQ(test, iterate_fd(fx->files, 0, record, &v), 0);
	KUNIT_EXPECT_EQ(test, v.n, NFILES - 1);
	KUNIT_EXPECT_FALSE(test, v.bad);
}

/*
 * fdspace_charge() and fdspace_uncharge() stand for a linear open and
 * close (alloc_fd() and __put_unused_fd() call them), fdspace_reserve()
 * and fdspace_unreserve() for a private one.
 */
static void linear_and_private_share_rlimit_nofile(struct kunit *test)
{
	struct fixture *fx = test->priv;
	void **field = &fx->files->fdspace;
	struct fdtable *fdt;
	unsigned int linear;
	int fd, fd2;
	u64 lim;

	spin_lock(&fx->files->file_lock);
	fdt = files_fdtable(fx->files);
	linear = bitmap_weight(fdt->open_fds, fdt->max_fds);
	spin_unlock(&fx->files->file_lock);
	/* Room for two more than what is open, of either kind. */
	lim = linear + NFILES + 2;
	KUNIT_EXPECT_EQ(test, fdspace_charge(field, lim), 0);
	fd = fdspace_reserve(field, lim);
	KUNIT_ASSERT_GT(test, fd, NONLINEAR_FD);
	KUNIT_EXPECT_EQ(test, fdspace_reserve(field, lim), -EMFILE);
	KUNIT_EXPECT_EQ(test, fdspace_charge(field, lim), -EMFILE);
	/* A closed linear one makes room for a private one ... */
	fdspace_uncharge(field);
	fd2 = fdspace_reserve(field, lim);
	KUNIT_ASSERT_GT(test, fd2, NONLINEAR_FD);
	KUNIT_EXPECT_EQ(test, fdspace_charge(field, lim), -EMFILE);
	/* ... and a closed private one for a linear one. */
	fdspace_unreserve(field, fd);
	KUNIT_EXPECT_EQ(test, fdspace_charge(field, lim), 0);
	KUNIT_EXPECT_EQ(test, fdspace_reserve(field, lim), -EMFILE);
	fdspace_uncharge(field);
	fdspace_unreserve(field, fd2);
}

static struct kunit_case fdspace_kunit_cases[] = {
	KUNIT_CASE(iterate_fd_visits_private_fds),
	KUNIT_CASE(iterate_fd_finds_a_private_fd),
	KUNIT_CASE(iterate_fd_resumes_after_a_private_fd),
	KUNIT_CASE(iterate_fd_skips_closed_private_fds),
	KUNIT_CASE(linear_and_private_share_rlimit_nofile),
	{}
};

static struct kunit_suite fdspace_kunit_suite = {
	.name = "fdspace",
	.init = fdspace_kunit_init,
	.exit = fdspace_kunit_exit,
	.test_cases = fdspace_kunit_cases,
};
kunit_test_suite(fdspace_kunit_suite);

MODULE_DESCRIPTION("KUnit tests for the private fd space");
MODULE_LICENSE("GPL");
