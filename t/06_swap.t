# Swapping cortes under load: a child process requests files in a loop while
# three new packages are published.  No request fails, no 5xx, and every
# response is entirely one corte's version: its body is byte-identical to
# that corte's file named by its own X-PREP-Corte header.  Feed: carga.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'carga';
my $base = "/prep/$feed";
my $tmp  = tmp_dir();

my @cortes = map { sprintf '2024-06-02T21:%02d:00-06:00', $_ } 5, 10, 15, 20;
my (@pkgs, %expect);    # $expect{corte iso}{path} = sha256 of the served bytes
my @paths = ('json/main.json', 'datos/PRES_2024.csv', 'json/distritos/distrito-03.json',
             'json/casillas/0001-B.json', 'index.html');
for my $i (0 .. $#cortes) {
    my $pkg = make_package(out => "$tmp/PREP_carga_$i.tar.gz", corte => $cortes[$i],
                           seed => 60 + $i, only_data_changes_from => 60, files => 800);
    push @pkgs, $pkg;
    my $tree = extract_package($pkg);
    $expect{ $cortes[$i] }{$_} = sha256_hex(slurp("$tree/$_")) for grep { !/\.html$/ } @paths;
    $expect{ $cortes[$i] }{'index.html#orig'} = slurp("$tree/index.html");
}

my ($f) = upload_and_wait($pkgs[0], $feed, timeout => 20);
ok $f, 'the first corte is published' or give_up('carga: no corte');

my $log  = "$tmp/requests.log";
my $stop = "$tmp/stop";
my $pid = fork // die "fork: $!";
if (!$pid) {
    # The client: sequential requests until told to stop (at most 120 s).
    open my $out, '>', $log or POSIX::_exit(2);
    my $fd = select $out; $| = 1; select $fd;
    my $deadline = time + 120;
    my $i = 0;
    while (!-e $stop && time < $deadline) {
        my $path = $paths[$i++ % @paths];
        my $r = eval { http(GET => "$base/$path") };
        if (!$r) {
            print $out "FAIL $path: request died: $@\n";
            next;
        }
        my $corte = $r->header('X-PREP-Corte') // '';
        my $body = $r->content;
        my $why;
        if ($r->code != 200) {
            $why = 'status ' . $r->code . ($r->header('Client-Warning') ? ' (' . $r->header('Client-Warning') . ')' : '');
        }
        elsif (!$expect{$corte}) {
            $why = "unknown X-PREP-Corte '$corte'";
        }
        elsif (defined $r->header('Content-Length') && $r->header('Content-Length') != length $body) {
            $why = 'Content-Length ' . $r->header('Content-Length') . ' but ' . length($body) . ' bytes';
        }
        elsif ($path eq 'index.html') {
            my $ins = banner_split($body, $expect{$corte}{'index.html#orig'});
            my $label = corte_label($corte);
            $why = 'HTML is not this corte\'s with its banner' unless defined $ins && $ins =~ /\Q$label\E/;
        }
        elsif (sha256_hex($body) ne $expect{$corte}{$path}) {
            $why = 'body is not this corte\'s file';
        }
        if ($path eq 'json/main.json' && !$why) {
            my ($fc) = $body =~ /"fechaCorte":\s*"([^"]+)"/;
            $why = "fechaCorte $fc but X-PREP-Corte $corte" unless ($fc // '') eq $corte;
        }
        print $out $why ? "FAIL $path [$corte]: $why\n" : "OK $path $corte\n";
    }
    close $out;
    POSIX::_exit(0);
}

my @published;
for my $i (1 .. 3) {
    sleep 1;
    my ($g) = upload_and_wait($pkgs[$i], $feed, timeout => 30);
    push @published, $g ? $g->{corte}{time} : 'none';
}
sleep 1.5;
spit($stop, "1");
my $reaped = wait_for(30, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
unless ($reaped) {
    kill 'TERM', $pid;
    waitpid($pid, 0);
}
is_deeply \@published, [@cortes[1 .. 3]], 'the three new cortes were published, in order';

my @lines = -e $log ? split /\n/, slurp($log) : ();
my @fail = grep { /^FAIL/ } @lines;
my %seen = map { (split / /)[2] => 1 } grep { /^OK/ } @lines;
diag sprintf '%d requests during the swaps, %d cortes seen', scalar(@lines), scalar(keys %seen);
cmp_ok scalar(@lines), '>=', 100, 'the client made at least 100 requests';
is_deeply [@fail[0 .. ($#fail < 9 ? $#fail : 9)]], [], 'no request failed, no 5xx, every body one corte\'s version'
    or diag scalar(@fail) . ' failures';
cmp_ok scalar(keys %seen), '>=', 3, 'the client saw at least 3 cortes (swaps happened under load)';
ok $seen{ $cortes[3] }, 'and finally the last one';

done_testing;
