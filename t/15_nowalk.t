# A request of a feed is answered from the shared index: it is not mapped
# to the DocumentRoot, and costs no directory walk, no .htaccess lookup, no
# stat and no open once the child has attached the corte.
#   1. a broken .htaccess in DocumentRoot/prep (AllowOverride All there,
#      see extra.conf.in) answers 500 to anything that walks that
#      directory; the feed below /prep/qro must not notice it;
#   2. with strace (when installed), the children make no file system
#      call at all while they answer feed requests.
# Feed: qro.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep);
use PrepTest;

my ($pkg, $f) = ensure_corte('qro', corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');

my $docroot = Apache::Test::vars('documentroot');
make_path("$docroot/prep/qro", "$docroot/prep/otro");
spit("$docroot/prep/.htaccess", "EstoNoEsUnaDirectiva de Apache\n");
spit("$docroot/prep/otro/x.txt", "x\n");

# The trap is armed: a plain file below /prep (not a feed) walks into it.
is http(GET => '/prep/otro/x.txt')->code, 500, 'the trap works: a request that walks DocumentRoot/prep gets 500';

my @paths = ('index.html', 'json/main.json', 'css/prep.css', '', 'json/', 'no-existe.json',
             'datos/PRES_2024.csv');
for my $p (@paths) {
    my $want = $p eq 'no-existe.json' ? 404 : $p eq 'json/' ? 404 : 200;
    my $r = http(GET => "/prep/qro/$p");
    is $r->code, $want, "/prep/qro/$p answers $want: no .htaccess read";
}
# A file of the same name in the DocumentRoot is never served instead.
spit("$docroot/prep/qro/index.html", "<html><body>DocumentRoot</body></html>\n");
unlike http(GET => '/prep/qro/index.html')->content, qr/DocumentRoot/, 'the DocumentRoot is not consulted';

# strace: the children's file system calls while answering 200 requests.
SKIP: {
    my ($strace) = grep { -x "$_/strace" } split /:/, $ENV{PATH} // '';
    skip 'strace not installed', 2 unless $strace;
    my $parent = server_pid() or skip 'no server pid', 2;
    # the worker children; not the intake, which leads a process group
    my @kids = map { $_->[0] } grep { $_->[0] != $_->[1] }
               map { [split ' '] } grep { /\d/ } split /\n/, `ps -o pid=,pgid= --ppid $parent`;
    skip 'no children', 2 unless @kids;
    # every child attaches the corte first (its first request opens it)
    http(GET => '/prep/qro/json/main.json') for 1 .. 40;
    my $dir = tmp_dir();
    my @pids;
    for my $k (@kids) {
        my $pid = fork // die;
        if (!$pid) {
            exec "$strace/strace", '-f', '-qq', '-e', 'trace=%file,%stat,openat,open',
                 '-o', "$dir/trace.$k", '-p', $k;
            exit 127;
        }
        push @pids, $pid;
    }
    sleep 1.5; # strace attaches
    my $ok = 0;
    for my $i (1 .. 200) {
        my $p = $paths[$i % @paths];
        $ok++ if http(GET => "/prep/qro/$p", 'Accept-Encoding' => ($i % 2 ? 'gzip' : ''))->code < 500;
    }
    sleep 0.5;
    kill 'INT', @pids;
    waitpid $_, 0 for @pids;
    is $ok, 200, '200 requests answered under strace';
    my @calls;
    for my $file (glob "$dir/trace.*") {
        push @calls, grep { !/^\d+\s+(\+\+\+|---)/ && !/resumed>/ } split /\n/, slurp($file);
    }
    is scalar(@calls), 0, 'no stat, open or directory walk per request'
        or diag join "\n", @calls[0 .. ($#calls < 15 ? $#calls : 15)];
}

remove_tree("$docroot/prep");
done_testing;
