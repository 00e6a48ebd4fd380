# bench/plot-h100-scaling.gp - cost-per-row plot of the H100 machine's bench --quick
# results (that machine has no gnuplot): scal_<workload>_<backend>.dat hold
# "rows ns_per_row" rows extracted from results.csv (resident, blowup 4).
set terminal pngcairo size 900,560 font ",10"
set output "bench-h100-scaling.png"
set title "Cost per row against rows, H100 machine (spillway bench --quick, blowup 4, resident)"
set logscale xy
set xlabel "rows (all tables)"
set ylabel "ns per row (wall / rows)"
set grid
set key outside right
plot "scal_fib_cpu.dat" w lp lw 2 t "fib cpu (16 threads)", \
     "scal_fib_cuda.dat" w lp lw 2 t "fib cuda", \
     "scal_vm_cpu.dat" w lp lw 2 t "vm cpu (16 threads)", \
     "scal_vm_cuda.dat" w lp lw 2 t "vm cuda", \
     "scal_synth_cpu.dat" w lp lw 2 t "synth cpu", \
     "scal_synth_cuda.dat" w lp lw 2 t "synth cuda"
