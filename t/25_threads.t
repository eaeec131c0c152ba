# One child's threads read its corte's pack at once.  Every file of a
# corte is fetched once, one request at a time, in identity, gzip and br:
# those answers are the reference (gzip and br decoded must give the
# identity bytes).  Then eight keep-alive clients fetch the same files in
# the three encodings, in random order, for a few seconds, over HTTP and
# then over HTTPS, and every answer must be byte for byte the reference of
# its file and encoding.  Two threads of one child that read two variants
# at the same moment must each get their own bytes: the pack's descriptor
# is shared by the child's threads, and httpd reads a file bucket with a
# seek and a read whenever it does not sendfile it (answers under 256
# bytes, and every answer over TLS), so a read that depended on the
# descriptor's position would give one thread the other's bytes.
# Feed: hilos (also in the prep_tls virtual host).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use IO::Uncompress::Gunzip qw(gunzip);
use File::Path ();
use List::Util ();
use Time::HiRes qw(time);
use PrepTest;

my $feed    = 'hilos';
my $base    = "/prep/$feed";
my $tmp     = tmp_dir();
my $clients = 8;
my $rounds  = 30;

my $pkg = make_package(out => "$tmp/PREP_hilos.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                       seed => 25, files => 300);
my $tree = extract_package($pkg);
my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
ok $f, 'the corte is published' or give_up('hilos: no corte');
my $id = $f->{corte}{id};

# no banner (the bytes are the file's), no hidden names (never served)
my @paths = grep { !/\.html?$/ && !m{(^|/)\.} } tree_files($tree);
my @encodings = ('identity', 'gzip', 'br');

# the reference, one request at a time
my (%ref, %variants);
for my $path (@paths) {
    for my $enc (@encodings) {
        my $r = http(GET => "$base/" . enc_path($path), 'Accept-Encoding' => $enc);
        die "reference $path $enc: " . $r->status_line . "\n" unless $r->code == 200;
        my $got = $r->header('Content-Encoding') // 'identity';
        $ref{"$path $enc"} = [$got, sha256_hex($r->content), length $r->content];
        $variants{$got}++;
        next if $got eq 'identity';
        my $plain;
        if ($got eq 'gzip') {
            gunzip(\$r->content => \$plain) or die "reference $path: gzip does not inflate\n";
        }
        else {
            my $in = "$tmp/ref.br";
            spit($in, $r->content);
            $plain = `brotli -dc '$in'`;
            die "reference $path: br does not decode\n" if $?;
        }
        sha256_hex($plain) eq sha256_hex(slurp("$tree/$path"))
            or die "reference $path $got: not the package's file once decoded\n";
    }
}
diag sprintf '%d files, answers: %s', scalar(@paths),
    join(', ', map { "$_ $variants{$_}" } sort keys %variants);
cmp_ok $variants{gzip} // 0, '>=', 100, 'the reference has at least 100 gzip answers';
cmp_ok $variants{br}   // 0, '>=', 100, 'and at least 100 br answers';
my @inline = grep { $_->[2] < 256 } values %ref;
my @large  = grep { $_->[2] > 64 * 1024 } values %ref;
diag sprintf '%d answers under 256 bytes, %d over 64 KB', scalar(@inline), scalar(@large);
ok @inline >= 20, 'some answers under 256 bytes (never sent with sendfile by httpd)';
ok @large >= 1, 'some answers over 64 KB (sent as file buckets)';

# The clients: curl, a process per encoding, each with eight keep-alive
# connections at once (--parallel), every file $rounds times in random
# order; each answer to a file of its own.  Then every answer against the
# reference.  Returns (answers, wrong answers, the first failures).
sub run_clients {
    my ($origin, $name) = @_;
    my (@pids, %list);
    for my $enc (@encodings) {
        my $dir = "$tmp/$name/$enc";
        File::Path::make_path($dir);
        my @order = map { $paths[$_] } List::Util::shuffle((0 .. $#paths) x $rounds);
        $list{$enc} = \@order;
        open my $cfg, '>', "$dir.curlrc" or die "$dir.curlrc: $!";
        print $cfg "url = \"$origin$base/" . enc_path($order[$_]) . "\"\noutput = \"$dir/$_\"\n" for 0 .. $#order;
        close $cfg;
        my $pid = fork // die "fork: $!";
        unless ($pid) {
            open STDOUT, '>', "$dir.out" or POSIX::_exit(2);
            exec('curl', '-s', '-k', '--parallel', '--parallel-max', $clients,
                 '-H', "Accept-Encoding: $enc", '--max-time', 60,
                 '-w', '%{http_code} %header{content-encoding} %header{x-prep-corte-id}\n',
                 '-K', "$dir.curlrc") or POSIX::_exit(127);
        }
        push @pids, $pid;
    }
    my $t0 = time;
    for my $pid (@pids) {
        next if wait_for(120, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    my $took = time - $t0;
    my ($total, $failed, @fail) = (0, 0);
    my %lines;
    for my $enc (@encodings) {
        my $dir = "$tmp/$name/$enc";
        my @w = -e "$dir.out" ? split /\n/, slurp("$dir.out") : ();
        my %codes;
        $codes{$_}++ for map { (split / /)[0] } @w;
        for my $k (0 .. $#{ $list{$enc} }) {
            my $path = $list{$enc}[$k];
            my $want = $ref{"$path $enc"};
            my $body = -e "$dir/$k" ? slurp("$dir/$k") : undef;
            $total++;
            my $why = !defined $body ? 'no answer'
                : sha256_hex($body) ne $want->[1]
                ? sprintf('%d bytes beginning %s, not the reference (%d bytes)',
                          length $body, unpack('H16', $body), $want->[2])
                : undef;
            next unless $why;
            $failed++;
            push @fail, "FAIL $path $enc: $why" if @fail < 10;
        }
        # every answer a 200 of the corte, in the reference's encoding
        my @wrong = grep { !/^200 (\S*) \Q$id\E$/ } @w;
        push @fail, "FAIL $enc: " . scalar(@wrong) . " answers not 200 of $id: $wrong[0]" if @wrong;
        $failed += @wrong;
        $failed += $#{ $list{$enc} } + 1 - @w if @w < @{ $list{$enc} };
    }
    diag sprintf '%s: %d answers to %d connections in %.1f s, %d wrong', $name, $total,
        $clients * @encodings, $took, $failed;
    File::Path::remove_tree("$tmp/$name");
    return ($total, $failed, @fail);
}

my %origins = (HTTP => PrepTest::base_url());
my $tls = Apache::Test::vars('prep_tls_port');
$origins{HTTPS} = "https://127.0.0.1:$tls" if $tls;
ok $tls, 'the prep_tls virtual host has a port';
for my $name (sort keys %origins) {
    my ($total, $failed, @fail) = run_clients($origins{$name}, $name);
    cmp_ok $total, '>=', 3 * $rounds * @paths, "$name: every file asked $rounds times in each encoding";
    is $failed, 0, "$name: every answer is its file and encoding's, byte for byte"
        or diag join "\n", @fail[0 .. ($#fail < 9 ? $#fail : 9)];
}

done_testing;
